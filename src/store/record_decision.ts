/**
 * @module
 * How a decision about a task is stored, the one shape for both directions (the worker's
 * admission, `task.decision`, and the requester's, `outbound.decision`): a denial is its audit
 * record alone; an allow is the task row and its allow record in one transaction, the record
 * written only when the row is new (a retry of the same request records nothing twice).
 */
import type { RuleId } from "../protocol/rules.ts";
import { appendAudit, type AuditInput } from "./audit.ts";
import type { Store } from "./db.ts";
import { type InsertOutcome, insertTask, type NewTask } from "./tasks.ts";

/** The decision's audit record without its verdict: kind, task, actor, data. */
export type DecisionAudit = Omit<AuditInput, "decision" | "rule" | "reason">;

/** A denial to store. */
export type DenialToRecord = { allow: false; rule: RuleId; reason: string };
/** An allow to store: its task row, and what its record adds to `data`. */
export type AllowToRecord = {
  allow: true;
  rule: RuleId;
  reason: string;
  task: NewTask;
  data?: Record<string, unknown>;
};

/**
 * Stores `verdict` about the task of `audit`.
 *
 * @returns `denied` for a denial, else what {@link insertTask} did (only `created` is audited).
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * import type { NewTask } from "./tasks.ts";
 * import { recordDecision } from "./record_decision.ts";
 * declare const store: Store;
 * declare const task: NewTask;
 * const audit = { kind: "outbound.decision", task_id: task.id, actor: { node: "a" }, data: {} };
 * recordDecision(store, audit, { allow: false, rule: "outbound.peer_unknown", reason: "not listed" });
 * const r = recordDecision(store, audit, { allow: true, rule: "outbound.peers[0]", reason: "ok", task });
 * if (r.outcome === "conflict") console.log("id already used");
 * ```
 */
export function recordDecision(
  s: Store,
  a: DecisionAudit,
  v: DenialToRecord,
): { outcome: "denied" };
export function recordDecision(s: Store, a: DecisionAudit, v: AllowToRecord): InsertOutcome;
export function recordDecision(
  store: Store,
  audit: DecisionAudit,
  verdict: DenialToRecord | AllowToRecord,
): InsertOutcome | { outcome: "denied" } {
  const { rule, reason } = verdict;
  if (!verdict.allow) {
    appendAudit(store, { ...audit, decision: "deny", rule, reason });
    return { outcome: "denied" };
  }
  return store.transaction(() => {
    const r = insertTask(store, verdict.task);
    if (r.outcome === "created") {
      const data = verdict.data ? { ...audit.data, ...verdict.data } : audit.data;
      appendAudit(store, { ...audit, decision: "allow", rule, reason, data });
    }
    return r;
  });
}
