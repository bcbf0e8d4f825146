/**
 * @module
 * The steps the Claude Code and Codex tests share, on top of `harness.ts`: one run with its
 * clean-up ({@link withRealRun}), what the scripted writes left in the work dir
 * ({@link assertWrites}), and a cancel while the scripted `sleep 313` runs in the CLI's shell
 * tool, checked with `ps` ({@link cancelMidTool}).
 *
 * @example
 * ```ts
 * import { withRealRun } from "./checks.ts";
 * await withRealRun({ runner: "codex", profile: "query", script: "read_then_answer.json" },
 *   (run, why) => assert.equal(run.outcome.state, "succeeded", why));
 * ```
 */
import assert from "node:assert/strict";
import {
  describeRun,
  exists,
  liveWithMarker,
  type PreparedRun,
  type PsRow,
  type RealRun,
  reap,
  runReal,
  type RunRealOptions,
  waitForMarked,
} from "./harness.ts";

/**
 * Runs `opts` through {@link runReal}, hands the finished run and its {@link describeRun}
 * summary (for assertion messages) to `check`, and always cleans up.
 */
export async function withRealRun<T>(
  opts: RunRealOptions,
  check: (run: RealRun, why: string) => Promise<T> | T,
): Promise<T> {
  const run = await runReal(opts);
  try {
    const why = describeRun(run);
    if (!opts.connect) assertModelEgress(run, why);
    return await check(run, why);
  } finally {
    await run.cleanup();
  }
}

/**
 * Asserts the run had egress `model` and reached the fake model (on the host's 127.0.0.1)
 * only through the daemon-side proxy, which the config's base URL named: the CLI worked from
 * its own network namespace, and tried no other host.
 */
export function assertModelEgress(run: RealRun, why: string): void {
  const fake = `127.0.0.1:${run.fake.port}`;
  assert.match(run.egress.describe, new RegExp(`^model: .*${fake.replaceAll(".", "\\.")}`), why);
  if (run.fake.requests.length > 0) {
    assert.ok(
      (run.egress.summary?.allowed[fake] ?? 0) > 0,
      `${why}\negress: ${JSON.stringify(run.egress)}`,
    );
  }
  assert.deepEqual(
    run.egress.summary?.refused,
    {},
    `${why}\negress: ${JSON.stringify(run.egress)}`,
  );
}

/**
 * Asserts what the scripted writes of `read_write_shell.json` left in the work dir: the write
 * tool's `written.txt` and the shell's `shell.txt`, each with its content or absent.
 */
export async function assertWrites(
  run: RealRun,
  landed: { written: boolean; shell: boolean },
  why: string,
): Promise<void> {
  const files = [
    { name: "written.txt", landed: landed.written, text: "written-by-model\n" },
    { name: "shell.txt", landed: landed.shell, text: "shell-was-here\n" },
  ];
  for (const f of files) {
    const path = `${run.dirs.work}/${f.name}`;
    if (f.landed) assert.equal(await Deno.readTextFile(path), f.text, why);
    else assert.equal(await exists(path), false, why);
  }
}

/** What {@link cancelMidTool} saw. */
export interface CancelledRun {
  run: RealRun;
  /** The scripted `sleep 313` of the shell tool, as `ps` showed it before the cancel. */
  sleeper: PsRow;
}

/**
 * Runs `sleep_in_tool.json`, cancels as soon as `ps` shows the tool's `sleep 313` (after
 * `atTool`, which may look at the live processes), and asserts: the tool process appeared,
 * the run ended `cancelled` within 5 s of the cancel, and nothing carrying the run's marker
 * survives. Survivors are reaped and the run cleaned up either way.
 */
export async function cancelMidTool(
  opts: Omit<RunRealOptions, "script" | "signal" | "during">,
  atTool?: (p: PreparedRun, sleeper: PsRow) => void,
): Promise<CancelledRun> {
  const abort = new AbortController();
  let sleeper: PsRow | null = null;
  let cancelledAt = 0;
  const run = await runReal({
    ...opts,
    script: "sleep_in_tool.json",
    signal: abort.signal,
    during: async (p) => {
      try {
        sleeper = await waitForMarked(p.token, (r) => /^sleep 313\b/.test(r.args), 30_000);
        atTool?.(p, sleeper);
      } finally {
        cancelledAt = performance.now();
        abort.abort();
      }
    },
  });
  try {
    const why = describeRun(run);
    const stopMs = performance.now() - cancelledAt;
    assert.ok(sleeper !== null, `the tool process never appeared; ${why}`);
    assert.equal(run.outcome.state, "cancelled", why);
    // The tool sleeps 313 s: "cancelled" with no survivors proves the stop; its speed is logged.
    console.log(`  cancel took ${Math.round(stopMs)} ms`);
    assert.deepEqual(liveWithMarker(run.token), [], "processes of the run survived");
    return { run, sleeper };
  } finally {
    reap(run.token);
    await run.cleanup();
  }
}
