/**
 * @module
 * How commands speak: `NO_COLOR`, colour only on terminals, error shapes and exit codes.
 */
import assert from "node:assert/strict";
import { CliError, colorEnabled, EXIT } from "../../src/cli/output.ts";
import { hasAnsi, runCmesh, withHome } from "./cli_harness.ts";

Deno.test("exit codes are the documented ones", () => {
  assert.deepEqual(EXIT, { OK: 0, FAILURE: 1, USAGE: 2, DENIED: 3 });
});

Deno.test("a CliError defaults to exit 1 and code 'error'", () => {
  const e = new CliError("nope");
  assert.equal(e.exitCode, 1);
  assert.equal(e.code, "error");
});

Deno.test("colorEnabled: only on a terminal, and never with a non-empty NO_COLOR", () => {
  assert.equal(colorEnabled(true, {}), true);
  assert.equal(colorEnabled(false, {}), false);
  assert.equal(colorEnabled(true, { NO_COLOR: "1" }), false);
  assert.equal(colorEnabled(true, { NO_COLOR: "0" }), false, "any non-empty value disables");
  assert.equal(colorEnabled(true, { NO_COLOR: "" }), true, "empty means unset (no-color.org)");
});

Deno.test("NO_COLOR=1: no ANSI escapes anywhere in the output", async () => {
  await withHome(async (home) => {
    await Deno.writeTextFile(`${home}/bad.toml`, "bogus = 1\n");
    const runs: string[][] = [
      ["--help"],
      ["version"],
      ["frobnicate"],
      ["config", "show"],
      ["config", "validate", "--config", `${home}/bad.toml`],
      ["config", "init"],
      ["config", "init"], // refuses: an error message
    ];
    for (const args of runs) {
      const r = await runCmesh(args, { home, env: { NO_COLOR: "1" } });
      assert.ok(!hasAnsi(r.stdout), `${args.join(" ")}: ANSI on stdout`);
      assert.ok(
        !hasAnsi(r.stderr),
        `${args.join(" ")}: ANSI on stderr: ${JSON.stringify(r.stderr)}`,
      );
    }
  });
});

Deno.test("piped output (not a terminal) has no ANSI from cmesh even without NO_COLOR", async () => {
  await withHome(async (home) => {
    const r = await runCmesh(["frobnicate"], { home });
    assert.equal(r.code, 2);
    assert.ok(!hasAnsi(r.stdout));
    assert.ok(!hasAnsi(r.cmeshStderr), JSON.stringify(r.cmeshStderr));
  });
});
