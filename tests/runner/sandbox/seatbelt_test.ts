/**
 * The macOS Seatbelt profile generated from a sandbox spec, checked on its text (the release
 * workflow's macOS smoke runs it for real).
 */
import assert from "node:assert/strict";
import {
  sbplString,
  SEATBELT_ETC_SECRETS,
  seatbeltArgv,
  seatbeltProfile,
} from "../../../src/runner/sandbox/seatbelt.ts";
import { sandboxSpecFor } from "../../../src/runner/sandbox/spec.ts";

function specOf(profile: string, network: "host" | "none" = "host") {
  return sandboxSpecFor({
    profile,
    cwd: "/Users/ann/src/app",
    runDir: "/Users/ann/Library/Application Support/cmesh/runs/r1",
    installPaths: ["/opt/homebrew/lib/node_modules/@openai/codex"],
    configDirs: ["/Users/ann/Library/Application Support/cmesh/runners/codex"],
    host: { system: [], etc: [], unshareUser: false },
    network: { kind: network },
  });
}

/** The paths inside one `(allow <op> ...)` rule. */
function rulePaths(profile: string, op: string): string[] {
  const line = profile.split("\n").find((l) => l.startsWith(`(allow ${op} (`)) ?? "";
  return [...line.matchAll(/\((?:subpath|literal) "((?:[^"\\]|\\.)*)"\)/g)].map((m) => m[1]);
}

Deno.test("seatbelt: query denies by default, reads the cwd, writes only private dirs", () => {
  const text = seatbeltProfile(specOf("query"));
  assert.ok(text.startsWith("(version 1)\n(deny default)\n"));
  const reads = rulePaths(text, "file-read*");
  const writes = rulePaths(text, "file-write*");
  assert.ok(reads.includes("/Users/ann/src/app"));
  assert.ok(reads.includes("/opt/homebrew/lib/node_modules/@openai/codex"));
  assert.ok(!writes.includes("/Users/ann/src/app"), "query must not write the cwd");
  assert.ok(writes.includes("/Users/ann/Library/Application Support/cmesh/runs/r1/home"));
  assert.ok(writes.includes("/Users/ann/Library/Application Support/cmesh/runs/r1/tmp"));
  assert.ok(writes.includes("/Users/ann/Library/Application Support/cmesh/runners/codex"));
  for (
    const hidden of ["/Users/ann", "/Users", "/", "/Users/ann/Library/Application Support/cmesh"]
  ) {
    assert.ok(!reads.includes(hidden) && !writes.includes(hidden), hidden);
  }
  assert.ok(text.includes("(allow network*)"));
});

Deno.test("seatbelt: edit writes the cwd; network none denies the network; full allows all", () => {
  assert.ok(
    rulePaths(seatbeltProfile(specOf("edit")), "file-write*").includes("/Users/ann/src/app"),
  );
  const offline = seatbeltProfile(specOf("query", "none"));
  assert.ok(offline.includes("(deny network*)") && !offline.includes("(allow network*)"));
  assert.equal(seatbeltProfile(specOf("full")), "(version 1)\n(allow default)\n");
});

Deno.test("seatbelt: /private/etc is readable but its secrets are denied after it, in every confined profile", () => {
  for (const profile of ["query", "edit", "build"]) {
    const lines = seatbeltProfile(specOf(profile)).split("\n");
    const allow = lines.findIndex((l) =>
      l.startsWith("(allow file-read* (") && l.includes('"/private/etc"')
    );
    const deny = lines.findIndex((l) => l.startsWith("(deny file-read* file-write* ("));
    assert.ok(allow >= 0 && deny > allow, `${profile}: the deny must follow the allow`);
    const denied = [...lines[deny].matchAll(/\((literal|subpath) "([^"]*)"\)/g)].map((m) =>
      `${m[1]} ${m[2]}`
    );
    for (
      const secret of [
        "literal /private/etc/master.passwd",
        "literal /private/etc/sudoers",
        "literal /private/etc/ssh/ssh_host_ed25519_key",
        "subpath /private/etc/sudoers.d",
      ]
    ) assert.ok(denied.includes(secret), `${profile}: ${secret} is not denied`);
    assert.equal(
      denied.length,
      SEATBELT_ETC_SECRETS.literals.length + SEATBELT_ETC_SECRETS.subpaths.length,
    );
  }
});

Deno.test("seatbelt: paths are quoted as SBPL strings; argv runs sandbox-exec -p", () => {
  assert.equal(sbplString('/a "b"\\c'), '"/a \\"b\\"\\\\c"');
  assert.throws(() => sbplString("/a\0b"), /NUL/);
  const argv = seatbeltArgv(specOf("query"), ["/opt/homebrew/bin/codex", "exec"]);
  assert.deepEqual(argv.slice(0, 2), ["/usr/bin/sandbox-exec", "-p"]);
  assert.equal(argv[2], seatbeltProfile(specOf("query")));
  assert.deepEqual(argv.slice(3), ["/opt/homebrew/bin/codex", "exec"]);
});

Deno.test("seatbelt: devices null allows /dev/null alone", () => {
  const devices = (spec: ReturnType<typeof specOf>) =>
    seatbeltProfile(spec).split("\n").find((l) => l.startsWith("(allow file-read* file-write* ("));
  assert.match(devices(specOf("query")) ?? "", /"\/dev\/urandom"/);
  assert.equal(
    devices({ ...specOf("query"), devices: "null" }),
    '(allow file-read* file-write* (literal "/dev/null"))',
  );
});
