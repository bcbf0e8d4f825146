/**
 * @module
 * Ending a run's process tree on Windows, which has no process groups, signals or `ps` with
 * environments: `taskkill /T` asks the tree to close, then `taskkill /T /F` ends it, while the
 * main child has not been reaped (its pid still names it; no sweep afterwards, since a pid can be
 * reused). Called by `killTree` in `process_tree.ts`.
 *
 * @example
 * ```ts
 * import { taskkillArguments } from "./windows_tree.ts";
 * taskkillArguments(4242, true); // ["/T", "/F", "/PID", "4242"]
 * ```
 */
import { delay, runBounded } from "../util/bounded_command.ts";
import type { KillTreeOptions, KillTreeReport } from "./process_tree.ts";

/** The `taskkill` arguments that end a process and its descendants (`/F` forces). */
export function taskkillArguments(pid: number, force: boolean): string[] {
  return ["/T", ...(force ? ["/F"] : []), "/PID", String(pid)];
}

/**
 * Windows: `taskkill /T` (asks politely) then, after the grace period, `taskkill /T /F`; the
 * main child is also killed directly. Only called while the child has not been reaped, so its
 * pid still names it.
 */
export async function killWindowsTree(
  pid: number,
  opts: KillTreeOptions,
  report: KillTreeReport,
): Promise<KillTreeReport> {
  for (const force of [false, true]) {
    report.steps.push({ signal: force ? "SIGKILL" : "SIGTERM", pgid: null, pids: [pid] });
    const r = await runBounded(opts.killBin, {
      args: taskkillArguments(pid, force),
      maxStdoutBytes: 4096,
      timeoutMs: 10_000,
    }).catch((e) => ({ code: -1, stderr: (e as Error).message }));
    // 128: "process not found": already gone, nothing left to do.
    if (r.code === 128) return report;
    if (r.code !== 0 && force) report.errors.push(`taskkill failed: ${r.stderr.trim()}`);
    if (force) {
      try {
        opts.directKill?.("SIGKILL");
      } catch { /* already gone */ }
    } else await delay(opts.graceMs);
  }
  return report;
}
