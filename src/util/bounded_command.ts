/**
 * @module
 * Run a short helper command (git, ps, kill) with a scrubbed environment, a hard timeout and a
 * cap on captured output, so a misbehaving helper can never hang or flood its caller.
 *
 * @example
 * ```ts
 * import { runBounded } from "./bounded_command.ts";
 * const r = await runBounded("/usr/bin/git", {
 *   args: ["rev-parse", "HEAD"], cwd: "/srv/app", maxStdoutBytes: 4096, timeoutMs: 10_000,
 * });
 * if (r.code === 0) console.log(new TextDecoder().decode(r.stdout).trim());
 * ```
 */
import { byteChunks } from "./byte_chunks.ts";
import { ByteTail } from "./byte_tail.ts";

/** How to run one bounded helper command. */
export interface BoundedRunOptions {
  /** Arguments after the binary. */
  args: string[];
  /** Working directory (defaults to the caller's). */
  cwd?: string;
  /** The complete environment of the helper (nothing is inherited). */
  env?: Record<string, string>;
  /** Stdout beyond this is not kept; the helper is killed and `stdoutTruncated` set. */
  maxStdoutBytes: number;
  /** Bytes of stderr tail kept (default 4096). */
  maxStderrBytes?: number;
  /** The helper is killed (SIGKILL) when it runs longer than this. */
  timeoutMs: number;
  /** Written to the helper's stdin, which is then closed (default: stdin is `/dev/null`). */
  stdin?: Uint8Array;
  /**
   * The helper, already running (started ahead and handed its command, with its stdin dealt
   * with): supervised in place of spawning `bin`, which is then only its name.
   */
  running?: Deno.ChildProcess;
}

/** What a bounded helper run produced. */
export interface BoundedRunResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  /** Terminating signal name, if any. */
  signal: string | null;
  /** Captured stdout (at most `maxStdoutBytes`). */
  stdout: Uint8Array;
  /** True when stdout passed the cap (the helper was then killed). */
  stdoutTruncated: boolean;
  /** The tail of stderr, decoded. */
  stderr: string;
  /** True when the helper was killed for running past `timeoutMs`. */
  timedOut: boolean;
}

function feed(stdin: WritableStream<Uint8Array>, bytes: Uint8Array): void {
  const w = stdin.getWriter();
  w.write(bytes).then(() => w.close()).catch(() => {});
}

/** How long to wait for the pipes to close after the helper exited (a grandchild may hold them). */
const DRAIN_AFTER_EXIT_MS = 1000;

/**
 * Runs `bin` to completion within the given bounds. Spawn failures (missing binary, permission
 * denied) are thrown; everything after the spawn is reported in the result.
 *
 * @example
 * ```ts
 * const r = await runBounded("/usr/bin/ps", {
 *   args: ["-o", "pid=", "-p", "1"], maxStdoutBytes: 1024, timeoutMs: 5000,
 * });
 * ```
 */
export async function runBounded(bin: string, opts: BoundedRunOptions): Promise<BoundedRunResult> {
  const child = opts.running ?? new Deno.Command(bin, {
    args: opts.args,
    cwd: opts.cwd,
    env: opts.env ?? {},
    clearEnv: true,
    stdin: opts.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Small (a seccomp program): the pipe takes it whole. A helper that exits without reading it
  // breaks the pipe; its exit status says what happened.
  if (opts.stdin && !opts.running) feed(child.stdin, opts.stdin);

  let timedOut = false;
  let stdoutTruncated = false;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, opts.timeoutMs);

  const stdoutChunks: Uint8Array[] = [];
  let stdoutKept = 0;
  // Read into buffers of their own (byte_chunks.ts): what is kept is copied out of them.
  const drain = new AbortController();
  const stdoutDone = (async () => {
    for await (const value of byteChunks(child.stdout, { signal: drain.signal })) {
      const room = opts.maxStdoutBytes - stdoutKept;
      if (value.byteLength > room) {
        if (room > 0) stdoutChunks.push(value.slice(0, room));
        stdoutKept += Math.max(room, 0);
        if (!stdoutTruncated) {
          stdoutTruncated = true;
          kill();
        }
        continue; // keep draining so the helper never blocks on a full pipe
      }
      stdoutChunks.push(value.slice());
      stdoutKept += value.byteLength;
    }
  })().catch(() => {});

  const stderrTail = new ByteTail(opts.maxStderrBytes ?? 4096);
  const stderrDone = (async () => {
    for await (const value of byteChunks(child.stderr, { signal: drain.signal })) {
      stderrTail.write(value);
    }
  })().catch(() => {});

  const status = await child.status;
  clearTimeout(timer);
  const drained = await waitAtMost(Promise.all([stdoutDone, stderrDone]), DRAIN_AFTER_EXIT_MS);
  if (!drained) {
    drain.abort();
    await Promise.allSettled([stdoutDone, stderrDone]);
  }

  const stdout = new Uint8Array(stdoutKept);
  let offset = 0;
  for (const chunk of stdoutChunks) {
    stdout.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return {
    code: status.signal === null ? status.code : null,
    signal: status.signal,
    stdout,
    stdoutTruncated,
    stderr: stderrTail.text(),
    timedOut,
  };
}

/**
 * Resolves true when `promise` settles within `ms`, false otherwise. The timer is always cleared.
 *
 * @example
 * ```ts
 * const child = new Deno.Command("sleep", { args: ["5"] }).spawn();
 * const finished = await waitAtMost(child.status, 1000); // false: still running after 1 s
 * ```
 */
export async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves after `ms` milliseconds, or early (without rejecting) when `signal` aborts.
 *
 * @example
 * ```ts
 * await delay(50);
 * ```
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
