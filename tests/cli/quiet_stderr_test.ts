/**
 * `--json` runs write nothing to stderr: no Deno warning (the "Permissions in the config file is
 * an experimental feature" line a `-P=<set>` run prints), nothing of cmesh's, on success and on
 * a refusal alike. And `deno task cmesh` itself adds only deno task's own "Task ..." line.
 */
import assert from "node:assert/strict";
import { REPO_ROOT, runCmesh, withHome } from "./cli_harness.ts";
import { run } from "../support/proc.ts";

Deno.test("--json runs print nothing on stderr (success and failure)", async () => {
  await withHome(async (home) => {
    // In order: config init writes the config the later commands read.
    const commands: { args: string[]; ok: boolean }[] = [
      { args: ["version", "--json"], ok: true },
      { args: ["config", "init", "--json"], ok: true },
      { args: ["config", "validate", "--json"], ok: true },
      { args: ["config", "show", "--json"], ok: true },
      { args: ["doctor", "--json"], ok: false }, // no tailscaled here: fails, answers in JSON
      { args: ["peers", "--json"], ok: false }, // no daemon: the error is JSON on stdout
    ];
    for (const c of commands) {
      const r = await runCmesh(c.args, { home });
      const what = `cmesh ${c.args.join(" ")} (exit ${r.code})`;
      assert.equal(r.stderr, "", `${what} wrote to stderr`);
      assert.equal(r.code === 0, c.ok, `${what}: ${r.stdout}`);
      JSON.parse(r.stdout); // and stdout is one JSON document
    }
  });
});

Deno.test("deno task cmesh: stderr holds only deno task's own 'Task cmesh' line", async () => {
  await withHome(async (home) => {
    const r = await run([Deno.execPath(), "task", "cmesh", "version", "--json"], {
      cwd: REPO_ROOT,
      env: { CMESH_HOME: home, NO_COLOR: "1" },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).version.length > 0, true);
    // deno-lint-ignore no-control-regex
    const plain = r.stderr.replace(/\x1b\[[0-9;]*m/g, "");
    const lines = plain.split("\n").filter((l) => l.trim() !== "");
    assert.equal(lines.length, 1, plain);
    assert.match(lines[0], /^Task cmesh deno run --no-prompt --allow-read /);
  });
});
