/**
 * @module
 * Reading tasks back in bulk: the filtered listing (`GET /v1/tasks`, `cmesh tasks`), the running
 * tasks crash recovery sweeps, the queued/running counts admission limits use, and the wire
 * status of one stored task. Writing a task (insert, state changes) is `tasks.ts`.
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * import { countActive, listTasks } from "./task_queries.ts";
 * declare const store: Store;
 * const recent = listTasks(store, { direction: "inbound", state: "running", limit: 20 });
 * const { queued } = countActive(store, { direction: "inbound" });
 * ```
 */
import type { SQLInputValue } from "node:sqlite";
import type { TaskEvent, TaskState, TaskStatus } from "../protocol/task.ts";
import type { Store } from "./db.ts";
import { type Direction, rowToTask, TASK_COLUMNS, type TaskRecord, type TaskRow } from "./tasks.ts";

/**
 * Filters for {@link listTasks}. Results are newest first.
 *
 * @example
 * ```ts
 * const query: TaskQuery = { direction: "outbound", peer: "build-server", limit: 10 };
 * ```
 */
export interface TaskQuery {
  direction: Direction;
  state?: TaskState | readonly TaskState[];
  peer?: string;
  requesterStableId?: string;
  /** Only tasks created at or after this ISO time. */
  since?: string;
  /** Default 100. */
  limit?: number;
}

/**
 * Tasks matching `query`, newest first.
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * import type { RequesterIdentity } from "./tasks.ts";
 * declare const store: Store;
 * declare const caller: RequesterIdentity;
 * listTasks(store, { direction: "inbound", requesterStableId: caller.stable_id, limit: 20 });
 * ```
 */
export function listTasks(store: Store, query: TaskQuery): TaskRecord[] {
  const where = ["direction = ?"];
  const args: SQLInputValue[] = [query.direction];
  if (query.state !== undefined) {
    const states = typeof query.state === "string" ? [query.state] : [...query.state];
    if (states.length === 0) return [];
    where.push(`state IN (${states.map(() => "?").join(", ")})`);
    args.push(...states);
  }
  const add = (condition: string, value: SQLInputValue | undefined) => {
    if (value === undefined) return;
    where.push(condition);
    args.push(value);
  };
  add("peer = ?", query.peer);
  add("requester_stable_id = ?", query.requesterStableId);
  add("created_at >= ?", query.since);
  args.push(Math.max(0, Math.floor(query.limit ?? 100)));
  const sql = `SELECT ${TASK_COLUMNS} FROM tasks WHERE ${where.join(" AND ")} ` +
    `ORDER BY created_at DESC, id DESC LIMIT ?`;
  return (store.prepare(sql).all(...args) as TaskRow[]).map(rowToTask);
}
/**
 * Tasks in state `running`, oldest start first. After a crash, these are the tasks whose
 * runner processes must be found (by `run_token` / `pgid`) and the tasks marked `interrupted`.
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * declare const store: Store;
 * const tokens = listRunningTasks(store, "inbound").map((t) => t.run_token);
 * ```
 */
export function listRunningTasks(store: Store, direction: Direction): TaskRecord[] {
  return (store.prepare(
    `SELECT ${TASK_COLUMNS} FROM tasks WHERE direction = ? AND state = 'running' ` +
      `ORDER BY started_at, id`,
  ).all(direction) as TaskRow[]).map(rowToTask);
}

/**
 * Queued and running counts, for admission limits (overall, per requester, or per peer).
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * declare const store: Store;
 * const key = "nXXXXXXCNTRL"; // the caller's node StableID
 * const { queued, running } = countActive(store, { direction: "inbound", requesterStableId: key });
 * ```
 */
export function countActive(
  store: Store,
  query: { direction: Direction; requesterStableId?: string; peer?: string },
): { queued: number; running: number } {
  let sql = "SELECT state, count(*) AS n FROM tasks WHERE direction = ? " +
    "AND state IN ('queued', 'running')";
  const args: SQLInputValue[] = [query.direction];
  if (query.requesterStableId !== undefined) {
    sql += " AND requester_stable_id = ?";
    args.push(query.requesterStableId);
  }
  if (query.peer !== undefined) {
    sql += " AND peer = ?";
    args.push(query.peer);
  }
  const counts = { queued: 0, running: 0 };
  for (const row of store.prepare(`${sql} GROUP BY state`).all(...args) as TaskRow[]) {
    counts[row.state as "queued" | "running"] = Number(row.n);
  }
  return counts;
}

/**
 * The wire status (`GET /v1/tasks/:id`) of a stored task.
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * import { lastEvent } from "./task_events.ts";
 * import type { TaskRecord } from "./tasks.ts";
 * declare const store: Store;
 * declare const task: TaskRecord;
 * const status = toTaskStatus(task, lastEvent(store, "inbound", task.id));
 * ```
 */
export function toTaskStatus(task: TaskRecord, last: TaskEvent | null): TaskStatus {
  return {
    id: task.id,
    state: task.state,
    profile: task.profile,
    runner: task.runner,
    cwd: task.cwd,
    created_at: task.created_at,
    started_at: task.started_at,
    finished_at: task.finished_at,
    last_event: last,
    error: task.error,
  };
}
