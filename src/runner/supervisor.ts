/**
 * @module
 * Run one runner process under supervision: its own session and process group, a scrubbed
 * environment plus the run marker, stdin closed (or fed and closed), stdout streamed line by
 * line under a byte cap, a bounded stderr tail, a hard timeout and cancellation that escalate
 * through the manifest's signals to the whole tree, and a final sweep so nothing of the run
 * outlives it. Every wait is bounded.
 *
 * Designed for a Deno Worker with narrowed permissions: it needs `run` for the runner binary
 * and the `kill`/`ps` binaries, and neither `Deno.kill` nor `/proc` (see process_list.ts and
 * process_tree.ts).
 *
 * @example
 * ```ts
 * import { superviseRun } from "./supervisor.ts";
 * import { newRunToken } from "./process_list.ts";
 * const run = await superviseRun(
 *   { argv: ["/usr/bin/claude", "-p", "hi"], env: { HOME: "/var/lib/cmesh/h" }, cwd: "/srv/app", stdin: null },
 *   { timeoutMs: 600_000, maxStdoutBytes: 8 << 20, maxStderrBytes: 64 << 10 },
 *   {
 *     runToken: newRunToken(), onStdoutLine: (line) => console.log(line),
 *     cancelSignals: ["SIGINT", "SIGTERM", "SIGKILL"], graceMs: 3000,
 *     killBin: "/usr/bin/kill", psBin: "/usr/bin/ps",
 *   },
 * );
 * console.log(run.code, run.timedOut, run.truncated);
 * ```
 */
import type { Invocation, RunLimits } from "./types.ts";
import { DEFAULT_MAX_LINE_CHARS, LastLineTracker, type Line, LineSplitter } from "./line_stream.ts";
import { isValidRunToken, RUN_TOKEN_ENV, treeKillSupport } from "./process_list.ts";
import { killTree, type KillTreeReport, normalizeSignals } from "./process_tree.ts";
import { ByteTail } from "../util/byte_tail.ts";
import { type Preamble, readPreamble } from "./preamble.ts";
import { pump } from "./pipe_pump.ts";
import { byteChunks } from "../util/byte_chunks.ts";
import { utf8ByteLength } from "../util/utf8.ts";
import { waitAtMost } from "../util/bounded_command.ts";
import { isAbsolutePath } from "../protocol/task.ts";
import type { WarmLaunch, WarmStart } from "./sandbox/warm.ts";

const MAX_TIMER_MS = 2 ** 31 - 1;

/** How to supervise one run. */
export interface SuperviseOptions {
  /** Unguessable marker put in the child's environment as `CMESH_RUN_ID`. */
  runToken: string;
  /** Receives stdout lines in order until `maxStdoutBytes` is reached. */
  onStdoutLine(line: string, cut: boolean): void;
  /** Receives every stderr line (optional; the tail is kept either way). */
  onStderrLine?(line: string, cut: boolean): void;
  /** Aborting cancels the run. */
  signal?: AbortSignal;
  /** Cancel/timeout signal sequence, e.g. `["SIGINT","SIGTERM","SIGKILL"]` (SIGKILL is implied). */
  cancelSignals: readonly string[];
  /** Wait between escalation steps. */
  graceMs: number;
  /** Absolute path of `kill`. */
  killBin: string;
  /** Absolute path of `ps`. */
  psBin: string;
  /**
   * True when argv[0] is a sandbox (bwrap) holding the run in its own PID namespace: the
   * whole namespace is the run, the graceful signals go to the processes inside it, and the
   * final SIGKILL to bwrap ends everything in it (see process_list.ts, process_tree.ts).
   */
  sandboxed?: boolean;
  /**
   * Output a wrapper in the sandbox prints before it `exec`s the runner (see preamble.ts): read
   * off stdout first, kept apart from the runner's lines, and returned as `preamble`.
   */
  preamble?: { boundary: string; marks: number; maxBytes: number };
  /**
   * A sandbox started ahead for this run (`sandbox/warm.ts`, its token `runToken`) and the argv
   * to run in it (inside the sandbox). Launched with the run's environment; when it cannot be
   * (the reason is in {@link SupervisedRun.warm}), it is ended and `inv` is spawned as usual.
   */
  warm?: { start: WarmStart; command: string[] };
  /** Longest line kept (UTF-16 code units); longer ones are cut (default 4 Mi). */
  maxLineChars?: number;
  /** How long to wait for the pipes to close after the child exited (default 2000 ms). */
  drainMs?: number;
  /** How long to wait for the child to be reaped after the final SIGKILL (default 5000 ms). */
  reapMs?: number;
}

/** What the supervisor observed about one run. */
export interface SupervisedRun {
  /** Exit code, or null when the child died by a signal (or was never reaped). */
  code: number | null;
  /** The terminating signal name, or null. */
  signal: string | null;
  /** From spawn until the child exited (until now when it was never reaped). */
  durationMs: number;
  /** True when the hard timeout fired (before any cancel). */
  timedOut: boolean;
  /** True when the abort signal fired (before the timeout). */
  cancelled: boolean;
  /** `stdout`: lines were dropped by the byte cap or cut; `stderr`: more than the tail was written. */
  truncated: { stdout: boolean; stderr: boolean };
  /** The last `maxStderrBytes` of stderr. */
  stderrTail: string;
  /** The run's process group id (= the child's pid), 0 when nothing was spawned. */
  pgid: number;
  /** Bytes read from stdout / stderr in total (all of it is drained, kept or not). */
  bytesRead: { stdout: number; stderr: number };
  /** Bytes of stdout lines handed to `onStdoutLine` (each line + 1 for its newline). */
  deliveredStdoutBytes: number;
  /** The most characters ever buffered for an unfinished line (bounded by `maxLineChars`). */
  peakLineBufferChars: number;
  /** The last non-empty stdout line, even when the cap dropped it (a parser's last resort). */
  lastStdoutLine: string | null;
  /** False only when the child could not be reaped within the bounds (e.g. stuck in D state). */
  exited: boolean;
  /** False when the pipes were still open after `drainMs` (held by an escaped process). */
  streamsDrained: boolean;
  /** Processes of the run still alive after the final sweep (should be empty). */
  survivors: number[];
  /** Signals sent by cancel/timeout and the final sweep, and problems met while killing. */
  kills: KillTreeReport[];
  /** The first error thrown by a line callback (callbacks never stop the draining). */
  callbackError: string | null;
  /** What {@link SuperviseOptions.preamble} read; null without one. */
  preamble: Preamble | null;
  /** Whether {@link SuperviseOptions.warm} ran the command, or why not; null without one. */
  warm: WarmLaunch | null;
}

/**
 * Runs `inv` to completion under `limits`; see the module doc. Resolves only after the child
 * exited, the tree was swept and the streams were drained (all bounded). Rejects only when the
 * child cannot be spawned or the options are invalid.
 */
export async function superviseRun(
  inv: Invocation,
  limits: RunLimits,
  opts: SuperviseOptions,
): Promise<SupervisedRun> {
  validate(inv, limits, opts);
  const signals = normalizeSignals(opts.cancelSignals);
  const token = opts.runToken;
  const started = performance.now();

  const run: SupervisedRun = {
    code: null,
    signal: null,
    durationMs: 0,
    timedOut: false,
    cancelled: false,
    truncated: { stdout: false, stderr: false },
    stderrTail: "",
    pgid: 0,
    bytesRead: { stdout: 0, stderr: 0 },
    deliveredStdoutBytes: 0,
    peakLineBufferChars: 0,
    lastStdoutLine: null,
    exited: false,
    streamsDrained: true,
    survivors: [],
    kills: [],
    callbackError: null,
    preamble: null,
    warm: null,
  };
  if (opts.signal?.aborted) {
    // In the background: ending it may wait for its start to complete (sandbox/warm.ts).
    void opts.warm?.start.discard({ keepRunDir: true });
    run.cancelled = true;
    run.exited = true;
    return run;
  }

  const env = { ...inv.env, [RUN_TOKEN_ENV]: token };
  const warm = opts.warm ? await launchWarm(opts.warm.start, opts.warm.command, env) : null;
  run.warm = warm?.launch ?? null;
  let child: Deno.ChildProcess;
  try {
    child = warm?.child ?? new Deno.Command(inv.argv[0], {
      args: inv.argv.slice(1),
      cwd: inv.cwd,
      env,
      clearEnv: true,
      stdin: inv.stdin === null ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      // Unsandboxed, the run gets its own session so a kill reaches its group. bwrap makes its
      // own (`--new-session`) inside its PID namespace, so its outer process needs none, and
      // a plain spawn keeps the fast path (a pre-exec setsid copies the daemon's page tables).
      detached: !opts.sandboxed,
    }).spawn();
  } catch (e) {
    throw new Error(`cannot start ${inv.argv[0]}: ${(e as Error).message}`, { cause: e });
  }
  run.pgid = child.pid;
  const directKill = (s: string) => {
    try {
      child.kill(s as Deno.Signal);
    } catch { /* already exited */ }
  };
  const killOptions = {
    // A sandboxed run's processes live in their own session inside the namespace: the group
    // of the outer bwrap holds only bwrap itself.
    pgid: opts.sandboxed ? null : child.pid,
    namespaceRoot: opts.sandboxed ? child.pid : null,
    token,
    signals,
    graceMs: opts.graceMs,
    killBin: opts.killBin,
    psBin: opts.psBin,
    directKill,
  };

  // A warm start's stdin is a pipe kept for the run: closed at once when there is nothing to feed.
  const stdinDone = inv.stdin !== null
    ? feedStdin(child, inv.stdin)
    : warm?.child
    ? child.stdin.close().catch(() => {})
    : Promise.resolve();
  const callback = (fn: ((line: string, cut: boolean) => void) | undefined, line: Line) => {
    if (!fn) return;
    try {
      fn(line.text, line.cut);
    } catch (e) {
      run.callbackError ??= String((e as Error)?.message ?? e);
    }
  };

  // stdout: every line is looked at (to remember the last one), delivered while under the cap.
  const maxLineChars = opts.maxLineChars ?? DEFAULT_MAX_LINE_CHARS;
  const stdoutSplitter = new LineSplitter(maxLineChars);
  let stdoutGateClosed = false;
  const onStdout = (line: Line) => {
    if (line.text.length > 0) run.lastStdoutLine = line.text;
    if (stdoutGateClosed) return;
    const size = utf8ByteLength(line.text) + 1;
    if (run.deliveredStdoutBytes + size > limits.maxStdoutBytes) {
      // Once one line does not fit, no later line is delivered: consumers see a clean prefix.
      stdoutGateClosed = true;
      run.truncated.stdout = true;
      return;
    }
    if (line.cut) run.truncated.stdout = true;
    run.deliveredStdoutBytes += size;
    callback(opts.onStdoutLine, line);
  };
  // Both pipes are read into one 64 KiB buffer each; aborting `pipes` cancels them.
  const pipes = new AbortController();
  const chunksOf = (s: ReadableStream<Uint8Array>) =>
    byteChunks(s, { signal: pipes.signal, bufferBytes: 64 * 1024 });
  const stdoutChunks = chunksOf(child.stdout);
  const pumpStdout = (initial?: Uint8Array) =>
    pump(stdoutChunks, (n) => run.bytesRead.stdout += n, stdoutSplitter, onStdout, {
      // Past the cap only the last line can still matter: stop splitting every line.
      active: () => stdoutGateClosed,
      tracker: new LastLineTracker(maxLineChars),
      onLast: (text) => run.lastStdoutLine = text,
    }, initial);
  const preambleOpts = opts.preamble;
  const stdoutDone = (async () => {
    if (preambleOpts) {
      run.preamble = await readPreamble(stdoutChunks, preambleOpts.boundary, preambleOpts);
    }
    await pumpStdout(run.preamble?.rest);
  })();

  const stderrTail = new ByteTail(limits.maxStderrBytes);
  const stderrSplitter = opts.onStderrLine ? new LineSplitter(maxLineChars) : null;
  const stderrDone = pump(
    chunksOf(child.stderr),
    (n, chunk) => {
      run.bytesRead.stderr += n;
      stderrTail.write(chunk);
    },
    stderrSplitter,
    (l) => callback(opts.onStderrLine, l),
  );

  // Timeout and cancel share one kill; whichever comes first names the reason.
  let killing: Promise<KillTreeReport> | null = null;
  let killStarted!: () => void;
  const killStartedPromise = new Promise<void>((resolve) => killStarted = resolve);
  const startKill = (reason: "timeout" | "cancel") => {
    if (killing) return;
    if (reason === "timeout") run.timedOut = true;
    else run.cancelled = true;
    killing = killTree(killOptions).catch((e) => ({
      steps: [],
      survivors: [],
      errors: [`kill failed: ${(e as Error).message}`],
    }));
    killStarted();
  };
  // setTimeout fires at once for delays above 2^31-1 ms (~24.8 days): clamp.
  const timer = setTimeout(() => startKill("timeout"), Math.min(limits.timeoutMs, MAX_TIMER_MS));
  const onAbort = () => startKill("cancel");
  opts.signal?.addEventListener("abort", onAbort, { once: true });

  let status: Deno.CommandStatus | null = null;
  let exitedAt = 0;
  const statusPromise = child.status.then((s) => {
    exitedAt = performance.now();
    status = s;
  });
  await Promise.race([statusPromise, killStartedPromise]);
  if (status === null) {
    // Killing started while the child was still running: wait for the kill, then reap (bounded).
    run.kills.push(await killing!);
    await waitAtMost(statusPromise, opts.reapMs ?? 5000);
  }
  clearTimeout(timer);
  opts.signal?.removeEventListener("abort", onAbort);
  if (killing && run.kills.length === 0) run.kills.push(await killing);

  // Final sweep: escaped tool processes, background jobs, anything still marked with the token.
  // (Skipped where tree kill is unsupported: there is nothing left it could reach. Skipped too
  // when a sandboxed run's bwrap has exited and been reaped: its PID namespace ended with its
  // init, and the kernel kills every member before that init can be reaped, so no process of
  // the run can be left. After a kill, bwrap may have died first: then the sweep runs.)
  const namespaceGone = opts.sandboxed === true && status !== null && killing === null;
  if (treeKillSupport().sweep && !namespaceGone) {
    const sweep = await killTree(killOptions).catch((e) => ({
      steps: [],
      survivors: [],
      errors: [`sweep failed: ${(e as Error).message}`],
    }));
    if (sweep.steps.length > 0 || sweep.errors.length > 0) run.kills.push(sweep);
    run.survivors = sweep.survivors;
  }

  const drained = await waitAtMost(
    Promise.all([stdoutDone, stderrDone, stdinDone]),
    opts.drainMs ?? 2000,
  );
  if (!drained) {
    run.streamsDrained = false;
    pipes.abort();
    await waitAtMost(Promise.all([stdoutDone, stderrDone]), 1000);
  }

  if (status !== null) {
    const s: Deno.CommandStatus = status;
    run.exited = true;
    run.code = s.signal === null ? s.code : null;
    run.signal = s.signal;
  }
  run.peakLineBufferChars = Math.max(
    stdoutSplitter.peakPendingChars,
    stderrSplitter?.peakPendingChars ?? 0,
  );
  run.truncated.stderr = stderrTail.overflowed;
  run.stderrTail = stderrTail.text();
  run.durationMs = Math.round((exitedAt || performance.now()) - started);
  return run;
}

/**
 * Launches a warm start with `command` and `env`: its process when that worked, else null after
 * ending it (its run dir stays: the cold start uses it). Either way, what the launch said.
 */
async function launchWarm(
  start: WarmStart,
  command: string[],
  env: Record<string, string>,
): Promise<{ child: Deno.ChildProcess | null; launch: WarmLaunch }> {
  const launch = await start.launch(command, env);
  if (launch.ok) return { child: start.child, launch };
  // In the background: ending it may wait for its start to complete (sandbox/warm.ts).
  void start.discard({ keepRunDir: true });
  return { child: null, launch };
}

/** Writes the prompt to the child's stdin and closes it; a child that never reads it is fine. */
async function feedStdin(child: Deno.ChildProcess, text: string): Promise<void> {
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
  } catch {
    // The child exited or closed its stdin early (EPIPE): nothing left to feed.
    await writer.abort().catch(() => {});
  }
}

function validate(inv: Invocation, limits: RunLimits, opts: SuperviseOptions): void {
  const bin = inv.argv[0] ?? "";
  if (!isAbsolutePath(bin)) {
    throw new Error(`argv[0] must be an absolute path, got "${bin}"`);
  }
  if (!isValidRunToken(opts.runToken)) throw new Error("runToken must be 16-128 of [A-Za-z0-9_-]");
  for (const name of ["timeoutMs", "maxStdoutBytes", "maxStderrBytes"] as const) {
    const value = limits[name];
    if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value)) {
      throw new Error(`limit ${name} must be a finite non-negative number, got ${value}`);
    }
  }
  if (!(opts.graceMs >= 0)) throw new Error("graceMs must be non-negative");
  for (const bin of [opts.killBin, opts.psBin]) {
    if (!bin.startsWith("/")) throw new Error(`kill/ps must be absolute paths, got "${bin}"`);
  }
}
