/**
 * The launcher of a sandbox started ahead, as text (`src/runner/sandbox/warm_launcher.ts`): the
 * launch script says exactly the command and environment through a real `/bin/sh`, and a script
 * cut anywhere runs nothing.
 */
import assert from "node:assert/strict";
import { launchScript, warmLauncher } from "../../../src/runner/sandbox/warm_launcher.ts";
import { runBounded } from "../../../src/util/bounded_command.ts";

const decoder = new TextDecoder();

/** `script` through `/bin/sh` with an empty environment, as a launcher would read it. */
async function shRead(script: string) {
  return await runBounded("/bin/sh", {
    args: ["-c", script],
    env: {},
    maxStdoutBytes: 1 << 16,
    timeoutMs: 10_000,
  });
}

Deno.test("launchScript: the command and exactly the environment, through a real /bin/sh", async () => {
  const words = ["a b", "it's", "x\ny", "$HOME", "`id`", "", "\\"];
  const args = await shRead(launchScript(["/usr/bin/printf", "[%s]", ...words], { A: "1" })!);
  assert.equal(decoder.decode(args.stdout), words.map((w) => `[${w}]`).join(""), args.stderr);
  // The environment is the given one and nothing else: no PWD from the launcher's shell.
  const env = { A: "1", QUOTE: "'\"", NL: "l1\nl2" };
  const r = await shRead(launchScript(["/usr/bin/env", "-0"], env)!);
  const seen = decoder.decode(r.stdout).split("\0").filter(Boolean).sort();
  assert.deepEqual(seen, ["A=1", "NL=l1\nl2", "QUOTE='\""]);
});

Deno.test("launchScript: names a shell cannot export go through env -i; what cannot be said is null", async () => {
  const script = launchScript(["/usr/bin/env"], { "odd-name": "v", B: "2" });
  assert.ok(script?.includes("/usr/bin/env -i"), script ?? "null");
  const r = await shRead(script!);
  assert.deepEqual(decoder.decode(r.stdout).trimEnd().split("\n").sort(), ["B=2", "odd-name=v"]);
  assert.equal(launchScript(["/bin/echo", "a\0b"], {}), null);
  assert.equal(launchScript(["/bin/echo"], { A: "x\0" }), null);
  assert.equal(launchScript(["echo"], {}), null, "a relative program");
  assert.equal(launchScript(["/opt/a=b/run"], { "odd-name": "v" }), null, "env -i would take it");
  assert.equal(
    launchScript(["/bin/echo"], {}),
    "{ exec 3>&-; unset PWD OLDPWD CMESH_RUN_ID; exec '/bin/echo'; }\n",
  );
});

Deno.test("launchScript: a script cut anywhere runs nothing", async () => {
  const script = launchScript(["/bin/echo", "RAN", "x y"], { A: "1" })!;
  for (let n = 0; n < script.length - 1; n++) {
    const r = await shRead(script.slice(0, n));
    assert.ok(!decoder.decode(r.stdout).includes("RAN"), `cut at ${n}: ${script.slice(0, n)}`);
  }
  assert.equal(decoder.decode((await shRead(script)).stdout), "RAN x y\n");
});

Deno.test("warmLauncher: sh with the control dir and the checked paths as its arguments", () => {
  const argv = warmLauncher("/r/ctl", ["/srv/app", "/srv"]);
  assert.deepEqual(argv.slice(0, 2), ["/bin/sh", "-c"]);
  assert.deepEqual(argv.slice(3), ["cmesh-warm", "/r/ctl", "/srv/app", "/srv"]);
});
