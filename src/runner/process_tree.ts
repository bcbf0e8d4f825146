/**
 * @module
 * Find and kill every process of one run: its process group and every process that carries
 * the run's marker in its environment (`CMESH_RUN_ID=<token>`), including processes that left
 * the group with `setsid` (Claude Code starts each Bash tool command that way).
 *
 * Works without `Deno.kill` and without `/proc`, because the runner lives in a Deno Worker with
 * narrowed permissions where neither is available: processes are listed by spawning `ps`
 * (`process_list.ts`) and signalled by spawning `kill`, both as absolute paths.
 *
 * Platforms: Linux (procps `ps … e`) is tested. macOS is wired to `ps -E` but unverified.
 * Windows has no process groups, signals or `ps` environment: {@link killTree} runs
 * `taskkill /T` then `taskkill /T /F` on the main child while it is alive, and there is no
 * final marker sweep ({@link treeKillSupport} says so).
 *
 * @example
 * ```ts
 * import { resolveProcessTools } from "./process_list.ts";
 * import { killTree } from "./process_tree.ts";
 * const { killBin, psBin } = resolveProcessTools();
 * await killTree({
 *   pgid: 4242, token: "r0123456789abcdef0123456789abcdef",
 *   signals: ["SIGINT", "SIGTERM", "SIGKILL"], graceMs: 2000, killBin, psBin,
 * });
 * ```
 */
import { delay, runBounded } from "../util/bounded_command.ts";
import {
  descendantsOf,
  isProtectedPid,
  isValidRunToken,
  listProcesses,
  type ProcessInfo,
  treeKillSupport,
} from "./process_list.ts";
import { killWindowsTree } from "./windows_tree.ts";

const KILL_TIMEOUT_MS = 10_000;

/** Signals the tree killer may send. */
const SIGNALS = new Set([
  "SIGINT",
  "SIGTERM",
  "SIGKILL",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGABRT",
  "SIGALRM",
]);

/**
 * Validates a signal sequence and makes sure it ends with SIGKILL, so every kill is final.
 * Accepts `"SIGTERM"` or `"TERM"` (any case).
 *
 * @example
 * ```ts
 * normalizeSignals(["int", "SIGTERM"]); // ["SIGINT", "SIGTERM", "SIGKILL"]
 * ```
 */
export function normalizeSignals(signals: readonly string[]): string[] {
  const out = signals.map((s) => {
    const upper = s.toUpperCase();
    const name = upper.startsWith("SIG") ? upper : "SIG" + upper;
    if (!SIGNALS.has(name)) throw new Error(`unsupported signal "${s}"`);
    return name;
  });
  if (out[out.length - 1] !== "SIGKILL") out.push("SIGKILL");
  return out;
}

/**
 * Sends `signal` to a process group and/or single pids with one `kill` invocation. Missing
 * processes are not an error (they already died); a failure to run `kill` is thrown.
 *
 * @example
 * ```ts
 * await sendSignal("/usr/bin/kill", "SIGTERM", { pgid: 4242, pids: [4250] });
 * ```
 */
export async function sendSignal(
  killBin: string,
  signal: string,
  targets: { pgid: number | null; pids: number[] },
): Promise<void> {
  const [name] = normalizeSignals([signal]);
  const ids = targets.pids.filter((p) => !isProtectedPid(p)).map(String);
  if (targets.pgid !== null && !isProtectedPid(targets.pgid)) ids.unshift(`-${targets.pgid}`);
  if (ids.length === 0) return;
  const r = await runBounded(killBin, {
    args: ["-s", name.slice(3), "--", ...ids],
    env: { LC_ALL: "C" },
    maxStdoutBytes: 64 * 1024,
    timeoutMs: KILL_TIMEOUT_MS,
  });
  if (r.code !== 0 && !/no such process/i.test(r.stderr)) {
    throw new Error(`${killBin} failed (code ${r.code}): ${r.stderr.trim()}`);
  }
}

/**
 * What to kill and how.
 *
 * @example
 * ```ts
 * const opts: KillTreeOptions = {
 *   pgid: 4242, token: null, signals: ["SIGTERM"], graceMs: 2000,
 *   killBin: "/usr/bin/kill", psBin: "/usr/bin/ps",
 * };
 * ```
 */
export interface KillTreeOptions {
  /** The run's process group (the main child's pid when spawned detached), if known. */
  pgid: number | null;
  /** The run token marking the run's processes, if known. */
  token: string | null;
  /** Signals in order; SIGKILL is appended when missing. */
  signals: readonly string[];
  /** How long to wait for the tree to die after each signal before escalating. */
  graceMs: number;
  killBin: string;
  psBin: string;
  /**
   * The outer sandbox process (bwrap), whose descendants are exactly the run's processes (its
   * own PID namespace: nothing inside can leave it). They are all members, token or not. It is
   * spared the graceful signals, which go to the processes inside (killing it ends the
   * namespace at once, before the runner could print its result), and gets the SIGKILL.
   */
  namespaceRoot?: number | null;
  /** How often to re-list while waiting (default 100 ms). */
  pollMs?: number;
  /** How long to wait after the final SIGKILL (default max(graceMs, 2000)). */
  finalWaitMs?: number;
  /**
   * Called with each signal when the `kill` binary cannot be used (spawn refused, platform
   * unsupported), e.g. `(s) => child.kill(s)`: at least the main child is then reached.
   */
  directKill?: (signal: string) => void;
}

/**
 * What a tree kill did.
 *
 * @example
 * ```ts
 * declare const report: KillTreeReport;
 * const clean = report.survivors.length === 0 && report.errors.length === 0;
 * ```
 */
export interface KillTreeReport {
  /** Each signal actually sent, with the group and the extra pids it went to. */
  steps: { signal: string; pgid: number | null; pids: number[] }[];
  /** Pids still alive at the end (empty on success; unknown listings count as none). */
  survivors: number[];
  /** Problems met on the way (listing or signalling failures). */
  errors: string[];
}

/** Extra SIGKILL rounds for processes forked while the tree was being killed. */
const EXTRA_KILL_ROUNDS = 3;

/**
 * Signals the run's process group and every token-marked process, escalating through
 * `signals` with `graceMs` between steps, until nothing of the run is alive. Bounded: at most
 * `signals.length + 3` rounds, each waiting at most `graceMs` (or `finalWaitMs`).
 *
 * @example
 * ```ts
 * const token = crypto.randomUUID(); // the run's CMESH_RUN_ID marker
 * const child = new Deno.Command("sleep", { args: ["60"], env: { CMESH_RUN_ID: token } }).spawn();
 * const report = await killTree({
 *   pgid: child.pid, token, signals: ["SIGINT", "SIGTERM"], graceMs: 3000,
 *   killBin: "/usr/bin/kill", psBin: "/usr/bin/ps",
 * });
 * if (report.survivors.length > 0) console.warn("survivors", report.survivors);
 * ```
 */
export async function killTree(opts: KillTreeOptions): Promise<KillTreeReport> {
  const report: KillTreeReport = { steps: [], survivors: [], errors: [] };
  const signals = normalizeSignals(opts.signals);
  const support = treeKillSupport();
  if (Deno.build.os === "windows" && opts.pgid !== null) {
    return await killWindowsTree(opts.pgid, opts, report);
  }
  if (!support.supported) {
    report.errors.push(support.reason);
    for (const s of signals) {
      report.steps.push({ signal: s, pgid: null, pids: [] });
      try {
        opts.directKill?.(s);
      } catch { /* already gone */ }
      await delay(opts.graceMs);
    }
    return report;
  }
  const token = opts.token !== null && isValidRunToken(opts.token) ? opts.token : null;
  if (opts.token !== null && token === null) report.errors.push("invalid run token ignored");
  const pollMs = opts.pollMs ?? 100;
  const finalWaitMs = opts.finalWaitMs ?? Math.max(opts.graceMs, 2000);

  const root = opts.namespaceRoot ?? null;
  /** Live members of the run, or null when the listing failed. */
  const members = async (): Promise<ProcessInfo[] | null> => {
    try {
      const rows = await listProcesses(opts.psBin, token);
      const inside = root === null ? new Set<number>() : descendantsOf(rows, root);
      return rows.filter((p) =>
        !p.stat.startsWith("Z") && !isProtectedPid(p.pid) &&
        (p.hasToken || (opts.pgid !== null && p.pgid === opts.pgid) || inside.has(p.pid))
      );
    } catch (e) {
      report.errors.push(`listing processes: ${(e as Error).message}`);
      return null;
    }
  };

  const sequence = [...signals, ...Array(EXTRA_KILL_ROUNDS).fill("SIGKILL")];
  let alive = await members();
  for (let i = 0; i < sequence.length; i++) {
    if (alive !== null && alive.length === 0) break;
    const signal = sequence[i];
    // Signal the group once, and token holders outside the group by pid (no double delivery).
    const groupAlive = opts.pgid !== null &&
      (alive === null || alive.some((p) => p.pgid === opts.pgid));
    const pgid = groupAlive ? opts.pgid : null;
    // The sandbox's outer process and its namespace init only get the SIGKILL (see above).
    const spared = signal === "SIGKILL" || root === null || alive === null
      ? new Set<number>()
      : new Set([root, ...alive.filter((p) => p.ppid === root).map((p) => p.pid)]);
    const pids = alive === null
      ? (root !== null && signal === "SIGKILL" ? [root] : [])
      : alive.filter((p) => p.pgid !== pgid && !spared.has(p.pid)).map((p) => p.pid);
    report.steps.push({ signal, pgid, pids });
    try {
      await sendSignal(opts.killBin, signal, { pgid, pids });
    } catch (e) {
      report.errors.push(`signalling: ${(e as Error).message}`);
      try {
        opts.directKill?.(signal);
      } catch { /* already gone */ }
    }
    const deadline = Date.now() + (i >= signals.length - 1 ? finalWaitMs : opts.graceMs);
    do {
      await delay(Math.min(pollMs, Math.max(0, deadline - Date.now())));
      alive = await members();
    } while ((alive === null || alive.length > 0) && Date.now() < deadline);
  }
  report.survivors = alive === null ? [] : alive.map((p) => p.pid);
  return report;
}

/**
 * Options for {@link killOrphansOfToken}.
 *
 * @example
 * ```ts
 * const opts: KillOrphansOptions = { killBin: "/usr/bin/kill", psBin: "/usr/bin/ps" };
 * ```
 */
export interface KillOrphansOptions {
  killBin: string;
  psBin: string;
  /** Default `["SIGTERM", "SIGKILL"]`. */
  signals?: readonly string[];
  /** Default 2000 ms. */
  graceMs?: number;
}

/**
 * Crash recovery: kills every process still carrying `token` (tasks left `running` in the store
 * keep their run token). The process group is not used: after a restart its id may be reused.
 *
 * @example
 * ```ts
 * import { openStore } from "../store/db.ts";
 * import { listRunningTasks } from "../store/task_queries.ts";
 * using store = openStore("/var/lib/cmesh/cmesh.db");
 * const [killBin, psBin] = ["/usr/bin/kill", "/usr/bin/ps"];
 * for (const task of listRunningTasks(store, "inbound")) {
 *   if (task.run_token) await killOrphansOfToken(task.run_token, { killBin, psBin });
 * }
 * ```
 */
export async function killOrphansOfToken(
  token: string,
  opts: KillOrphansOptions,
): Promise<KillTreeReport> {
  if (!isValidRunToken(token)) throw new Error("invalid run token");
  return await killTree({
    pgid: null,
    token,
    signals: opts.signals ?? ["SIGTERM", "SIGKILL"],
    graceMs: opts.graceMs ?? 2000,
    killBin: opts.killBin,
    psBin: opts.psBin,
  });
}
