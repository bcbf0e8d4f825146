/**
 * @module
 * Task events (numbered progress per task) and task results.
 *
 * Events are bounded: a task keeps at most `store.maxEventsPerTask` events (default 2000),
 * namely the first `n - 1` and the latest one. Every new event past the cap replaces the
 * previous latest, so `seq` keeps counting and a gap in `seq` shows where events were dropped.
 * This keeps the start of a run (what it set out to do) and its end (how it finished) while a
 * chatty runner cannot grow the database without limit. The task's state itself lives in the
 * `tasks` row, so no state is ever lost with a dropped event.
 *
 * @example
 * ```ts
 * import { appendEvent, listEvents } from "./task_events.ts";
 * import type { Store } from "./db.ts";
 * declare const store: Store;
 * const id = "t_0123456789";
 * appendEvent(store, "inbound", id, { kind: "message", text: "Running tests" });
 * listEvents(store, "inbound", id, 0); // [{ seq: 1, at: "...", kind: "message", text: "..." }]
 * ```
 */
import type { TaskEvent, TaskResult } from "../protocol/task.ts";
import { TaskResult as TaskResultSchema } from "../protocol/task.ts";
import type { Store } from "./db.ts";
import { StoreError } from "./errors.ts";
import { storableText } from "./text.ts";
import type { Direction } from "./tasks.ts";

/** An event before the store numbers and timestamps it. */
export type NewEvent = Omit<TaskEvent, "seq" | "at">;

type Row = Record<string, string | number | null>;

function rowToEvent(row: Row): TaskEvent {
  const event: TaskEvent = {
    seq: Number(row.seq),
    at: String(row.at),
    kind: String(row.kind) as TaskEvent["kind"],
    text: String(row.text),
  };
  if (row.data !== null) event.data = JSON.parse(String(row.data));
  return event;
}

function notFound(store: Store, direction: Direction, id: string): StoreError {
  return new StoreError(
    "not_found",
    store.path,
    `no ${direction} task with id ${id} in ${store.path}`,
  );
}

function taskExists(store: Store, direction: Direction, id: string): boolean {
  return store.prepare("SELECT 1 FROM tasks WHERE direction = ? AND id = ?")
    .get(direction, id) !== undefined;
}

/**
 * Appends an event with `seq` = last + 1 and `at` = now, dropping the previous latest event
 * when the task is at its cap (see the module notes).
 *
 * @returns The stored event.
 * @throws {StoreError} `not_found` when the task does not exist.
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * declare const store: Store;
 * appendEvent(store, "inbound", "t_0123456789", { kind: "state", text: "running" });
 * ```
 */
export function appendEvent(
  store: Store,
  direction: Direction,
  taskId: string,
  event: NewEvent,
): TaskEvent {
  return store.transaction(() => {
    const last = store.prepare(
      "SELECT max(seq) AS seq FROM task_events WHERE direction = ? AND task_id = ?",
    ).get(direction, taskId) as { seq: number | null };
    if (last.seq === null && !taskExists(store, direction, taskId)) {
      throw notFound(store, direction, taskId);
    }
    const seq = (last.seq ?? 0) + 1;
    const at = store.now();
    const data = event.data === undefined ? null : JSON.stringify(event.data);
    const text = storableText(event.text); // runner output may hold NUL bytes
    store.prepare(
      "INSERT INTO task_events (direction, task_id, seq, at, kind, text, data) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
    ).run(direction, taskId, seq, at, event.kind, text, data);
    const cap = store.maxEventsPerTask;
    if (seq > cap) {
      // Keep seq 1..cap-1 and the new one: drop whatever was the latest before it.
      store.prepare(
        "DELETE FROM task_events WHERE direction = ? AND task_id = ? AND seq >= ? AND seq < ?",
      ).run(direction, taskId, cap, seq);
    }
    const stored: TaskEvent = { seq, at, kind: event.kind, text };
    if (event.data !== undefined) stored.data = JSON.parse(data!);
    return stored;
  });
}

/**
 * Events of a task with `seq > afterSeq`, in order, at most `limit` (default 1000).
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * declare const store: Store;
 * let after = 0;
 * for (const ev of listEvents(store, "outbound", "t_0123456789", after)) after = ev.seq;
 * ```
 */
export function listEvents(
  store: Store,
  direction: Direction,
  taskId: string,
  afterSeq = 0,
  limit = 1000,
): TaskEvent[] {
  return (store.prepare(
    "SELECT seq, at, kind, text, data FROM task_events " +
      "WHERE direction = ? AND task_id = ? AND seq > ? ORDER BY seq LIMIT ?",
  ).all(direction, taskId, afterSeq, Math.max(0, Math.floor(limit))) as Row[]).map(rowToEvent);
}

/** The latest event of a task, or `null` when it has none. */
export function lastEvent(store: Store, direction: Direction, taskId: string): TaskEvent | null {
  const row = store.prepare(
    "SELECT seq, at, kind, text, data FROM task_events " +
      "WHERE direction = ? AND task_id = ? ORDER BY seq DESC LIMIT 1",
  ).get(direction, taskId) as Row | undefined;
  return row ? rowToEvent(row) : null;
}

/**
 * Stores (or replaces) the result of a task. The result is validated against the wire schema
 * first, so what {@link getResult} returns is always a valid `TaskResult`.
 *
 * @throws {StoreError} `not_found` when the task does not exist.
 * @throws {RangeError} when `result.id` is not `taskId`.
 * @throws {z.ZodError} when `result` does not match the `TaskResult` schema.
 *
 * @example
 * ```ts
 * import type { TaskResult } from "../protocol/task.ts";
 * import type { Store } from "./db.ts";
 * import { updateTaskState } from "./tasks.ts";
 * declare const store: Store;
 * declare const result: TaskResult;
 * store.transaction(() => {
 *   updateTaskState(store, "inbound", result.id, result.state);
 *   saveResult(store, "inbound", result.id, result);
 * });
 * ```
 */
export function saveResult(
  store: Store,
  direction: Direction,
  taskId: string,
  result: TaskResult,
): void {
  if (result.id !== taskId) {
    throw new RangeError(`saveResult: result.id ${result.id} is not the task id ${taskId}`);
  }
  const json = JSON.stringify(TaskResultSchema.parse(result));
  store.transaction(() => {
    if (!taskExists(store, direction, taskId)) throw notFound(store, direction, taskId);
    store.prepare(
      "INSERT INTO task_results (direction, task_id, result, saved_at) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT (direction, task_id) DO UPDATE SET result = excluded.result, " +
        "saved_at = excluded.saved_at",
    ).run(direction, taskId, json, store.now());
  });
}

/** The stored result of a task, or `null`. */
export function getResult(store: Store, direction: Direction, taskId: string): TaskResult | null {
  const row = store.prepare(
    "SELECT result FROM task_results WHERE direction = ? AND task_id = ?",
  ).get(direction, taskId) as { result: string } | undefined;
  return row ? JSON.parse(row.result) as TaskResult : null;
}
