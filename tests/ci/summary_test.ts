/**
 * The CI summary machinery (.ci/summary.sh, sourced by .ci/run): each test stage's passed,
 * failed and ignored counts are summed into the closing "N passed, M failed, K skipped" line,
 * every ignored test and step is listed by name (from real `deno test` output, with and
 * without --parallel), a stage that died or exited non-zero without a failed test counts as a
 * failure, and under CI=true a missing tool fails the run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, tempDir } from "../support/daemon.ts";
import { run } from "../support/proc.ts";

const SUMMARY = join(REPO_ROOT, ".ci", "summary.sh");
const FIXTURE = join(REPO_ROOT, "tests", "testdata", "ci", "ignored_fixture.ts");

/**
 * Runs `script` in bash in a fresh directory (holding `files`) after sourcing .ci/summary.sh
 * and ci_reset.
 */
async function ci(
  script: string,
  env: Record<string, string> = {},
  files: Record<string, string> = {},
) {
  const dir = await tempDir("cmesh-ci-summary-");
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir.path, name), text);
    }
    const r = await run(["bash", "-c", `set -uo pipefail; . "${SUMMARY}"; ci_reset; ${script}`], {
      cwd: dir.path,
      env: { CI: "", ...env },
    });
    const lines = r.stdout.trimEnd().split("\n");
    return { ...r, last: lines.at(-1) ?? "", dir: dir.path };
  } finally {
    await dir.cleanup();
  }
}

/** A deno test log as `--parallel` prints it, ending in `summary`. */
const parallelLog = (summary: string) =>
  [
    "./tests/a_test.ts => one ... ok (3ms)",
    "./tests/a_test.ts => skipped one ... ignored (0ms)",
    "./tests/b_test.ts => outer ... inner skipped ... ignored (0ms)",
    "./tests/b_test.ts => outer ... ok (6ms)",
    "",
    summary,
  ].join("\n");

Deno.test("sums stages into the last line and lists every ignored test by stage and file", async () => {
  const r = await ci(
    `record_stage main a.log 0
    record_stage extra c.log 0
    ci_summary 0`,
    {},
    {
      "a.log": parallelLog("ok | 7 passed (1 step) | 0 failed | 1 ignored (1 step) (5s)"),
      "c.log": "running 2 tests from ./tests/c_test.ts\nc one ... ok (1ms)\n" +
        "c skipped ... ignored (0ms)\n\nok | 3 passed | 0 failed | 1 ignored (1s)\n",
    },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.last, "10 passed, 0 failed, 3 skipped");
  assert.match(r.stdout, /^stage main: 7 passed, 0 failed, 2 skipped$/m);
  assert.match(r.stdout, /^ {2}main: \.\/tests\/a_test\.ts => skipped one$/m);
  assert.match(r.stdout, /^ {2}main: \.\/tests\/b_test\.ts => outer \.\.\. inner skipped$/m);
  assert.match(r.stdout, /^ {2}extra: \.\/tests\/c_test\.ts => c skipped$/m);
});

Deno.test("failures: a FAILED summary, a run without a summary, a non-zero exit with 0 failed", async () => {
  const failed = await ci(`
    printf '%s\\n' 'FAILED | 4 passed | 2 failed (12s)' > f.log
    record_stage main f.log 1
    ci_summary 0`);
  assert.notEqual(failed.code, 0);
  assert.equal(failed.last, "4 passed, 2 failed, 0 skipped");

  const killed = await ci(`
    printf 'x ... ok (1ms)\\n' > k.log
    record_stage tailnet k.log 124
    ci_summary 0`);
  assert.notEqual(killed.code, 0);
  assert.equal(killed.last, "0 passed, 1 failed, 0 skipped");

  const exited = await ci(`
    printf 'ok | 5 passed | 0 failed (1s)\\nerror: leaked resources\\n' > e.log
    record_stage main e.log 1
    ci_summary 0`);
  assert.notEqual(exited.code, 0);
  assert.equal(exited.last, "5 passed, 1 failed, 0 skipped");

  const staticFailed = await ci(`
    printf 'ok | 5 passed | 0 failed (1s)\\n' > s.log
    record_stage main s.log 0
    ci_summary 1`);
  assert.notEqual(staticFailed.code, 0);
  assert.match(staticFailed.stdout, /static checks failed/);

  const nothing = await ci(`ci_summary 0`);
  assert.notEqual(nothing.code, 0, "no stage ran: not green");
  assert.equal(nothing.last, "0 passed, 0 failed, 0 skipped");
});

Deno.test("a missing tool fails the run under CI=true, and only warns elsewhere", async () => {
  const script = `
    printf 'ok | 5 passed | 0 failed (1s)\\n' > s.log
    record_stage main s.log 0
    missing "MCP Inspector 2.12.0" "npx could not fetch it"
    ci_summary 0`;
  const strict = await ci(script, { CI: "true" });
  assert.notEqual(strict.code, 0);
  assert.match(strict.stderr, /error: MCP Inspector 2\.12\.0: npx could not fetch it \(CI=true/);
  assert.match(
    strict.stdout,
    /missing tools \(CI=true fails the run\):\n {2}MCP Inspector 2\.12\.0/,
  );
  assert.equal(strict.last, "5 passed, 0 failed, 0 skipped");
  const local = await ci(script);
  assert.equal(local.code, 0, local.stdout);
  assert.match(local.stderr, /warning: MCP Inspector 2\.12\.0: npx could not fetch it; the tests/);
});

Deno.test("run_stage reads real deno test output, with and without --parallel", async () => {
  for (const parallel of [true, false]) {
    const r = await ci(`
      run_stage fixture ${JSON.stringify(Deno.execPath())} test --no-config ${
      parallel ? "--parallel" : ""
    } ${JSON.stringify(FIXTURE)} >/dev/null
      ci_summary 0`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.last, "2 passed, 0 failed, 2 skipped", r.stdout);
    assert.match(r.stdout, /^ {2}fixture: .*ignored_fixture\.ts => fixture ignored test$/m);
    assert.match(r.stdout, /^ {2}fixture: .*fixture ignored step$/m);
  }
});

Deno.test(".ci/run: every tool install reports through `missing`; stages feed the summary, which is last", async () => {
  const text = await Deno.readTextFile(join(REPO_ROOT, ".ci", "run"));
  assert.doesNotMatch(text, /echo "warning:/, "a tool failure that only warns");
  assert.match(text, /^\. \.ci\/summary\.sh$/m);
  assert.match(text, /^run_stage main "\$\{DENO\[@\]\}" task test --ignore=tests\/tailnet\/$/m);
  assert.match(text, /run_stage tailnet env CMESH_TAILNET=1/);
  for (const tool of ["runner CLI", "MCP Inspector", "Debian packages", "tailnet binaries"]) {
    assert.match(text, new RegExp(`(missing|tailnet_not_run) "${tool}`), tool);
  }
  const blocks = [...text.matchAll(/^# >>> (.+) >>>$/gm)].map((m) => m[1]);
  assert.equal(blocks.at(-1), "summary (keep this block last)");
  assert.match(
    text.trimEnd(),
    /ci_summary "\$static_rc"\n# <<< summary \(keep this block last\) <<<$/,
  );
});
