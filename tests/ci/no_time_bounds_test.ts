/**
 * No upper time bounds in tests (CONTRIBUTING: two busy cores make them flaky; timings belong
 * in `deno task bench`). A scan of tests/ for the shapes such bounds take: a clock difference
 * compared with `<`/`<=`, or a duration-named value (`…Ms`, `elapsed`, `wall…`, `took`)
 * compared with `<`/`<=` a number. Lower bounds (`>=`, a product guarantee such as progress
 * spacing) are fine.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../support/daemon.ts";

const SHAPES = [
  /(?:performance\.now|Date\.now)\(\)\s*-\s*[\w.[\]]+\)?\s*<=?\s*[\w(]/,
  /\b\w*(?:Ms|ms|elapsed|Elapsed|wall\w*|took)\b\s*<=?\s*[0-9][0-9_]*(?:\s*\*\s*\d+)?\b/,
  /assertLess(?:OrEqual)?\(\s*(?:performance\.now|Date\.now|\w*(?:Ms|ms|elapsed))/,
];

/** Lines of test code under `dir` that match one of the shapes. */
async function offenders(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) {
      if (e.name !== "testdata") found.push(...await offenders(path));
      continue;
    }
    if (!e.name.endsWith(".ts") || path.endsWith("no_time_bounds_test.ts")) continue;
    const lines = (await Deno.readTextFile(path)).split("\n");
    lines.forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "");
      if (!/assert|expect|throw|if \(/.test(code)) return;
      if (SHAPES.some((re) => re.test(code))) {
        found.push(`${path.slice(REPO_ROOT.length)}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  return found;
}

Deno.test("no test asserts an upper bound on elapsed time", async () => {
  assert.deepEqual(await offenders(join(REPO_ROOT, "tests")), []);
});

Deno.test("the scan catches the shapes it looks for", () => {
  for (
    const line of [
      "assert.ok(performance.now() - t0 < 15);",
      "assert.ok(Date.now() - started < 5000, 'x');",
      "assert.ok(initMs < 3000, `initialize took`);",
      "assert.ok(run.wallMs < 30_000);",
      "if (elapsed <= 2000) throw new Error('slow');",
    ]
  ) {
    assert.ok(SHAPES.some((re) => re.test(line)), line);
  }
  for (
    const line of [
      "assert.ok(performance.now() - t0 >= 140);",
      "assert.ok(run.durationMs >= 600);",
      "assert.ok(calls <= 1 + maxRetries);",
      "assert.ok(bytes.length < 1024);",
    ]
  ) {
    assert.ok(!SHAPES.some((re) => re.test(line)), line);
  }
});
