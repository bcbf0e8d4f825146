/**
 * @module
 * The scheduler's side of the decision at dequeue: what the decision looks like
 * ({@link DequeueDecision}; the worker makes it, `worker/redecide.ts`) and how a refusal is
 * stored ({@link refuseAtDequeue}): state `denied` with error code `revoked` and the rule,
 * an event for the requester, and a `task.revoked` audit record naming the rule and reason,
 * all in one transaction.
 *
 * @example
 * ```ts
 * import type { Store } from "../store/db.ts";
 * import type { TaskRecord } from "../store/tasks.ts";
 * import { type Redecide, refuseAtDequeue } from "./redecide.ts";
 * import type { TaskBus } from "./task_bus.ts";
 * declare const deps: { store: Store; bus: TaskBus; nodeName: string; redecide: Redecide };
 * declare const task: TaskRecord; // the queued task about to start
 * const d = await deps.redecide(task);
 * if (!d.allow) refuseAtDequeue(deps, task, d);
 * ```
 */
import type { RuleId } from "../protocol/rules.ts";
import type { TaskError } from "../protocol/task_errors.ts";
import { appendAudit } from "../store/audit.ts";
import type { Store } from "../store/db.ts";
import { appendEvent, saveResult } from "../store/task_events.ts";
import { type TaskRecord, updateTaskState } from "../store/tasks.ts";
import type { TaskBus } from "./task_bus.ts";

/** The decision at dequeue: an allow names the directory the run must use. */
export type DequeueDecision =
  | { allow: true; rule: RuleId; reason: string; cwdReal: string }
  | { allow: false; rule: RuleId; reason: string };

/** Decides a queued task again just before it would start. */
export type Redecide = (task: TaskRecord) => Promise<DequeueDecision>;

/** The audit kind of a task refused at dequeue. */
export const REVOKED_AUDIT_KIND = "task.revoked";

/**
 * Stores a queued task as refused at dequeue. Does nothing when the task already left
 * `queued` (e.g. cancelled meanwhile). Returns whether it was stored.
 */
export function refuseAtDequeue(
  deps: { store: Store; bus: TaskBus; nodeName: string },
  task: TaskRecord,
  decision: { rule: RuleId; reason: string },
): boolean {
  const { store } = deps;
  const message = `refused before it started: ${decision.reason}`;
  const error: TaskError = { code: "revoked", message, rule: decision.rule };
  const stored = store.transaction(() => {
    if (!updateTaskState(store, "inbound", task.id, "denied", { error, pgid: null })) {
      return false;
    }
    saveResult(store, "inbound", task.id, {
      id: task.id,
      state: "denied",
      profile: task.profile,
      runner: task.runner,
      cwd: task.cwd,
      started_at: null,
      finished_at: store.now(),
      claims: { final_text: null, session_id: null },
      evidence: null,
      error,
    });
    appendEvent(store, "inbound", task.id, {
      kind: "state",
      text: `denied: ${message} (${decision.rule})`,
      data: { state: "denied", rule: decision.rule },
    });
    appendAudit(store, {
      kind: REVOKED_AUDIT_KIND,
      task_id: task.id,
      actor: { node: deps.nodeName, role: "worker" },
      decision: "deny",
      rule: decision.rule,
      reason: decision.reason,
      data: {
        requester: task.peer,
        cwd: task.cwd_requested ?? task.cwd,
        cwd_admitted: task.cwd,
        profile: task.profile,
        runner: task.runner,
      },
    });
    return true;
  });
  deps.bus.emit(task.id);
  return stored;
}
