/**
 * @module
 * Start-up after a crash: tasks left `running` become `interrupted` (their process trees are
 * found by run token and killed first), and the audit log records it. Tasks still `queued`
 * go back into the queue, where the executor decides each again against the config this start
 * loaded before it runs (`redecide.ts`): a restart with a narrower config refuses them.
 */
import { isValidRunToken } from "../runner/process_list.ts";
import { killOrphansOfToken } from "../runner/process_tree.ts";
import type { RunTools } from "../runner/run.ts";
import type { Store } from "../store/db.ts";
import { listRunningTasks, listTasks } from "../store/task_queries.ts";
import { type TaskRecord } from "../store/tasks.ts";
import { finishTask } from "./finish.ts";
import type { RunQueue } from "./queue.ts";
import type { TaskBus } from "./task_bus.ts";

/** What recovery did. */
export interface RecoveryReport {
  interrupted: string[];
  requeued: string[];
  /** Processes that survived the kill (should be empty). */
  survivors: number[];
}

/** Recovers inbound tasks after an unclean stop. */
export async function recoverInbound(deps: {
  store: Store;
  bus: TaskBus;
  queue: RunQueue;
  tools: RunTools;
  nodeName: string;
  /** The requester's per-peer concurrency limit (from the rule matching it), if any. */
  peerMaxConcurrent?: (task: TaskRecord) => number | undefined;
}): Promise<RecoveryReport> {
  const report: RecoveryReport = { interrupted: [], requeued: [], survivors: [] };
  for (const task of listRunningTasks(deps.store, "inbound")) {
    let killed = "no run token recorded";
    if (task.run_token) {
      try {
        const r = await killOrphansOfToken(task.run_token, {
          killBin: deps.tools.killBin,
          psBin: deps.tools.psBin,
          graceMs: 1000,
        });
        report.survivors.push(...r.survivors);
        killed = `${new Set(r.steps.flatMap((s) => s.pids)).size} leftover process(es) stopped`;
      } catch (e) {
        killed = `could not sweep leftover processes: ${(e as Error).message}`;
      }
    }
    finishTask(deps, task, {
      state: "interrupted",
      claims: { final_text: null, session_id: null },
      evidence: null,
      error: {
        code: "interrupted",
        message:
          `the worker daemon stopped while this task ran (${killed}); submit it again with a new id if it is still needed`,
      },
    }, "task.interrupted");
    report.interrupted.push(task.id);
  }
  for (
    const task of listTasks(deps.store, { direction: "inbound", state: "queued", limit: 100_000 })
      .reverse()
  ) {
    deps.queue.enqueue({
      id: task.id,
      // Admission always stores it; a row without one still gets a bucket of its own.
      requesterStableId: task.requester_stable_id ?? task.peer,
      peerMaxConcurrent: deps.peerMaxConcurrent?.(task),
    });
    report.requeued.push(task.id);
  }
  return report;
}

/**
 * Stops every process still carrying one of `tokens` (the names of the run dirs a crash left, a
 * run's or a sandbox started ahead: see `runner/sandbox/warm.ts`), so the dirs can go. Returns
 * how many processes were signalled. A sandbox started ahead that the crash caught while bwrap
 * was setting it up would otherwise wait forever.
 *
 * @example
 * ```ts
 * const tools = { killBin: "/usr/bin/kill", psBin: "/usr/bin/ps", gitBin: null };
 * await stopLeftovers(["r0123456789abcdef0123456789abcdef"], tools); // 0 when none is left
 * ```
 */
export async function stopLeftovers(tokens: readonly string[], tools: RunTools): Promise<number> {
  let stopped = 0;
  for (const token of tokens.filter(isValidRunToken)) {
    const r = await killOrphansOfToken(token, {
      killBin: tools.killBin,
      psBin: tools.psBin,
      signals: ["SIGKILL"],
      graceMs: 0,
    }).catch(() => null);
    stopped += new Set(r?.steps.flatMap((s) => s.pids) ?? []).size;
  }
  return stopped;
}
