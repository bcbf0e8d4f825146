/**
 * @module
 * Storing a task's end: the terminal state, the result, the event and the audit record in one
 * transaction ({@link finishTask}), and the retry while the state dir cannot take writes
 * ({@link untilStored}). Apart from `executor.ts` so that cancelling a queued task and recovery
 * do not load the runner (the worker thread imports the executor at its first run).
 *
 * @example
 * ```ts
 * import type { Store } from "../store/db.ts";
 * import type { TaskRecord } from "../store/tasks.ts";
 * import type { TaskBus } from "./task_bus.ts";
 * import { finishTask } from "./finish.ts";
 * declare const deps: { store: Store; bus: TaskBus; nodeName: string };
 * declare const task: TaskRecord; // a queued task being cancelled
 * finishTask(deps, task, {
 *   state: "cancelled",
 *   claims: { final_text: null, session_id: null },
 *   evidence: null,
 *   error: null,
 * });
 * ```
 */
import type { Claims, Evidence, TaskResult, TaskState } from "../protocol/task.ts";
import type { TaskError } from "../protocol/task_errors.ts";
import type { EgressSummary } from "../runner/sandbox/egress/proxy.ts";
import { appendAudit } from "../store/audit.ts";
import type { Store } from "../store/db.ts";
import { storageProblem } from "../store/errors.ts";
import { appendEvent, saveResult } from "../store/task_events.ts";
import { getTask, type TaskRecord, updateTaskState } from "../store/tasks.ts";
import { logger } from "../util/log.ts";
import type { TaskBus } from "./task_bus.ts";

/** A terminal outcome to store (a run's outcome, or one decided without running). */
export interface TerminalOutcome {
  state: Exclude<TaskState, "queued" | "running">;
  claims: Claims;
  evidence: Evidence | null;
  error: TaskError | null;
  /** What a `model` run's egress proxy allowed and refused (recorded in the audit). */
  egress?: EgressSummary | null;
}
function resultOf(
  task: TaskRecord,
  outcome: TerminalOutcome,
  startedAt: string | null,
  finishedAt: string,
): TaskResult {
  return {
    id: task.id,
    state: outcome.state,
    profile: task.profile,
    runner: task.runner,
    cwd: task.cwd,
    started_at: startedAt,
    finished_at: finishedAt,
    claims: outcome.claims,
    evidence: outcome.evidence,
    error: outcome.error,
  };
}

/** Stores a terminal outcome: result, state, event and audit record in one transaction. */
export function finishTask(
  deps: { store: Store; bus: TaskBus; nodeName: string },
  task: TaskRecord,
  outcome: TerminalOutcome,
  auditKind = "task.finish",
): void {
  const { store } = deps;
  store.transaction(() => {
    const now = store.now();
    if (
      !updateTaskState(store, "inbound", task.id, outcome.state, {
        error: outcome.error,
        pgid: null,
      })
    ) return;
    const fresh = getTask(store, "inbound", task.id)!;
    saveResult(
      store,
      "inbound",
      task.id,
      resultOf(fresh, outcome, fresh.started_at, fresh.finished_at ?? now),
    );
    appendEvent(store, "inbound", task.id, {
      kind: "state",
      text: outcome.error ? `${outcome.state}: ${outcome.error.message}` : outcome.state,
      data: { state: outcome.state },
    });
    appendAudit(store, {
      kind: auditKind,
      task_id: task.id,
      actor: { node: deps.nodeName, role: "worker" },
      reason: outcome.error?.message ?? null,
      data: {
        state: outcome.state,
        requester: task.peer,
        exit_code: outcome.evidence?.exit_code ?? null,
        signal: outcome.evidence?.signal ?? null,
        duration_ms: outcome.evidence?.duration_ms ?? null,
        changed_files: outcome.evidence?.git?.changed_files.length ?? null,
        ...(outcome.egress ? { egress: outcome.egress } : {}),
      },
    });
  });
  deps.bus.emit(task.id);
}

/** Wait between attempts to store while the state dir cannot take writes. */
const STORE_RETRY_MS = 1000;

/**
 * Runs a store write, retrying while the state dir cannot take writes (disk full, read-only
 * file system): a run's outcome waits in memory until it can be stored, so the task still
 * ends in a stored terminal state once space is back, instead of staying `running`. Gives up
 * only when the worker shuts down; recovery then marks the task interrupted at the next start.
 */
export async function untilStored<T>(id: string, signal: AbortSignal, write: () => T): Promise<T> {
  for (let warned = false;;) {
    try {
      return write();
    } catch (e) {
      const problem = storageProblem(e);
      if (problem === null || (signal.aborted && signal.reason === "shutdown")) throw e;
      if (!warned) {
        logger("scheduler").error(
          "cannot store task {id} ({problem}); retrying every {ms} ms until it can be stored",
          { id, problem, ms: STORE_RETRY_MS },
        );
        warned = true;
      }
      await new Promise((r) => setTimeout(r, STORE_RETRY_MS));
    }
  }
}
