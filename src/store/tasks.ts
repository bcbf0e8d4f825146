/**
 * @module
 * The task repository, for both directions: `inbound` (tasks this machine runs for a peer)
 * and `outbound` (tasks this machine sent to a peer). The key is `(direction, id)`, so the
 * same client-made id can exist once in each direction.
 *
 * Idempotency: {@link insertTask} with an id that exists returns the stored task when the
 * request hash and requester match, and a conflict otherwise. Terminal states never change:
 * {@link updateTaskState} returns `false` instead. Events and results live in
 * `task_events.ts`; listings, counts and the wire status in `task_queries.ts`.
 *
 * @example
 * ```ts
 * import type { TaskRequest } from "../protocol/task.ts";
 * import type { Store } from "./db.ts";
 * import { requestHash } from "./hash.ts";
 * import { insertTask, type RequesterIdentity, updateTaskState } from "./tasks.ts";
 * declare const store: Store;
 * declare const req: TaskRequest;
 * declare const requester: RequesterIdentity;
 * const r = insertTask(store, {
 *   direction: "inbound", id: req.id, peer: "laptop", requester, requester_stable_id: requester.stable_id,
 *   profile: req.profile, runner: "claude", cwd: req.cwd, prompt: req.prompt,
 *   timeout_s: req.timeout_s ?? null, request_hash: requestHash(req),
 * });
 * if (r.outcome === "created") updateTaskState(store, "inbound", req.id, "running");
 * ```
 */
import type { SQLInputValue } from "node:sqlite";
import type { ErrorInfo, TaskState } from "../protocol/task.ts";
import { TERMINAL_STATES } from "../protocol/task.ts";
import type { QuotedTaskError, TaskError } from "../protocol/task_errors.ts";
import type { Store } from "./db.ts";
import { assertNoNul, storableText } from "./text.ts";

/** Which way a task goes, seen from this machine. */
export type Direction = "inbound" | "outbound";

/** Who asked for an inbound task, as Tailscale whois told the worker. */
export interface RequesterIdentity {
  node: string;
  stable_id: string;
  login: string;
  tags: string[];
  /** MagicDNS name (rules may name a peer by it); absent in rows stored before it was kept. */
  dns_name?: string;
  /**
   * The whois grant entry of the configured `tailscale.app_capability` at admission
   * (capability → values); absent when none was configured. Re-checked at dequeue.
   */
  cap_map?: Record<string, unknown[]>;
}

/** A stored task. Times are ISO-8601 UTC strings. */
export interface TaskRecord {
  direction: Direction;
  id: string;
  /** Inbound: the requesting node's name. Outbound: the target peer's name. */
  peer: string;
  /** Inbound: the whois identity. Outbound: usually `null`. */
  requester: RequesterIdentity | null;
  /** The key that scopes "a caller sees only its own tasks". */
  requester_stable_id: string | null;
  state: TaskState;
  profile: string;
  runner: string;
  /** Inbound: the realpath admission decided on. Outbound: the cwd as sent. */
  cwd: string;
  /** Inbound: the cwd as the requester spelled it (`null` in rows from before schema 4). */
  cwd_requested: string | null;
  prompt: string;
  timeout_s: number | null;
  /** {@link requestHash} of the request, for idempotent retries. */
  request_hash: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: ErrorInfo | null;
  /** Random token put in the runner's environment, to find its processes after a crash. */
  run_token: string | null;
  /** Process group of the runner, while running. */
  pgid: number | null;
  /** Outbound: the last state the peer reported. */
  remote_state: TaskState | null;
  updated_at: string;
}

/** What {@link insertTask} needs. `state` defaults to `queued`. */
export interface NewTask {
  direction: Direction;
  id: string;
  peer: string;
  requester?: RequesterIdentity | null;
  requester_stable_id?: string | null;
  /** `denied` records a refused admission (and sets `finished_at`). */
  state?: "queued" | "denied";
  profile: string;
  runner: string;
  cwd: string;
  /** Inbound: the cwd as requested, when it differs in spelling from `cwd` (the realpath). */
  cwd_requested?: string | null;
  prompt: string;
  timeout_s?: number | null;
  request_hash: string;
  error?: TaskError | QuotedTaskError | null;
  run_token?: string | null;
}

/** The outcome of {@link insertTask}. */
export type InsertOutcome =
  | { outcome: "created"; task: TaskRecord }
  /** Same id, same request hash, same requester: a retry. */
  | { outcome: "existing"; task: TaskRecord }
  /** Same id, but a different request or a different requester. */
  | { outcome: "conflict"; task: TaskRecord; reason: "different_request" | "different_requester" };

/** Fields {@link updateTaskState} may set along with the state. Omitted = unchanged. */
export interface TaskUpdate {
  started_at?: string | null;
  finished_at?: string | null;
  /** What cmesh emits, or (outbound) the peer's error as it gave it. */
  error?: TaskError | QuotedTaskError | null;
  run_token?: string | null;
  pgid?: number | null;
  remote_state?: TaskState | null;
  /** Outbound: the runner the peer chose when the request named none. */
  runner?: string;
}

/**
 * The `tasks` columns, in the order {@link insertTask} writes them and {@link rowToTask} reads.
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * declare const store: Store;
 * const rows = store.prepare(`SELECT ${TASK_COLUMNS} FROM tasks`).all() as TaskRow[];
 * ```
 */
export const TASK_COLUMNS =
  "direction, id, peer, requester, requester_stable_id, state, profile, runner, cwd, " +
  "prompt, timeout_s, request_hash, created_at, started_at, finished_at, error, run_token, " +
  "pgid, remote_state, updated_at, cwd_requested";
const TERMINAL_SQL = TERMINAL_STATES.map((s) => `'${s}'`).join(", ");

/**
 * A `tasks` row as `node:sqlite` returns it.
 *
 * @example
 * ```ts
 * declare const row: TaskRow;
 * const task: TaskRecord = rowToTask(row);
 * ```
 */
export type TaskRow = Record<string, string | number | null>;

function str(v: unknown): string {
  return String(v);
}
function strOrNull(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}
function jsonOrNull<T>(v: unknown): T | null {
  return v === null || v === undefined ? null : JSON.parse(String(v)) as T;
}

/**
 * Maps a `tasks` row to a {@link TaskRecord}.
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * declare const store: Store;
 * const row = store.prepare(`SELECT ${TASK_COLUMNS} FROM tasks LIMIT 1`).get() as TaskRow;
 * rowToTask(row).state; // e.g. "queued"
 * ```
 */
export function rowToTask(row: TaskRow): TaskRecord {
  return {
    direction: str(row.direction) as Direction,
    id: str(row.id),
    peer: str(row.peer),
    requester: jsonOrNull<RequesterIdentity>(row.requester),
    requester_stable_id: strOrNull(row.requester_stable_id),
    state: str(row.state) as TaskState,
    profile: str(row.profile),
    runner: str(row.runner),
    cwd: str(row.cwd),
    prompt: str(row.prompt),
    timeout_s: row.timeout_s === null ? null : Number(row.timeout_s),
    request_hash: str(row.request_hash),
    created_at: str(row.created_at),
    started_at: strOrNull(row.started_at),
    finished_at: strOrNull(row.finished_at),
    error: jsonOrNull<ErrorInfo>(row.error),
    run_token: strOrNull(row.run_token),
    pgid: row.pgid === null ? null : Number(row.pgid),
    remote_state: strOrNull(row.remote_state) as TaskState | null,
    updated_at: str(row.updated_at),
    cwd_requested: strOrNull(row.cwd_requested),
  };
}

/**
 * Records a new task, or reports what is already stored under `(direction, id)`.
 *
 * The prompt is stored with NUL characters and lone surrogates replaced by U+FFFD (see
 * `text.ts`): `node:sqlite` could not read it back otherwise.
 *
 * @returns `created`; `existing` for a retry (same hash and requester key); `conflict`.
 * @throws {RangeError} when an identifier field (id, peer, requester_stable_id, profile, runner,
 * cwd) contains a NUL character.
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * declare const store: Store;
 * declare const task: NewTask;
 * const r = insertTask(store, task);
 * if (r.outcome === "conflict") console.error(`task id ${task.id} is in use (${r.reason})`);
 * ```
 */
export function insertTask(store: Store, task: NewTask): InsertOutcome {
  for (
    const field of [
      "id",
      "peer",
      "requester_stable_id",
      "profile",
      "runner",
      "cwd",
      "cwd_requested",
    ] as const
  ) {
    assertNoNul(field, task[field]);
  }
  return store.transaction(() => {
    const existing = getTask(store, task.direction, task.id);
    if (existing) {
      if (existing.requester_stable_id !== (task.requester_stable_id ?? null)) {
        return { outcome: "conflict", task: existing, reason: "different_requester" };
      }
      if (existing.request_hash !== task.request_hash) {
        return { outcome: "conflict", task: existing, reason: "different_request" };
      }
      return { outcome: "existing", task: existing };
    }
    const now = store.now();
    const state = task.state ?? "queued";
    store.prepare(
      `INSERT INTO tasks (${TASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      task.direction,
      task.id,
      task.peer,
      task.requester ? JSON.stringify(task.requester) : null,
      task.requester_stable_id ?? null,
      state,
      task.profile,
      task.runner,
      task.cwd,
      storableText(task.prompt),
      task.timeout_s ?? null,
      task.request_hash,
      now,
      null,
      state === "denied" ? now : null,
      task.error ? JSON.stringify(task.error) : null,
      task.run_token ?? null,
      null,
      null,
      now,
      task.cwd_requested ?? null,
    );
    return { outcome: "created", task: getTask(store, task.direction, task.id)! };
  });
}

/**
 * The task stored under `(direction, id)`, or `null`.
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * declare const store: Store;
 * const task = getTask(store, "inbound", "t_0123456789");
 * if (task === null) console.error("no such task");
 * ```
 */
export function getTask(store: Store, direction: Direction, id: string): TaskRecord | null {
  const row = store.prepare(`SELECT ${TASK_COLUMNS} FROM tasks WHERE direction = ? AND id = ?`)
    .get(direction, id) as TaskRow | undefined;
  return row ? rowToTask(row) : null;
}

/**
 * Only the state of the task stored under `(direction, id)`, or `null`: what a waiter looks
 * at on each change, without reading (and parsing) the whole record.
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * declare const store: Store;
 * getTaskState(store, "outbound", "t_0123456789"); // e.g. "running"
 * ```
 */
export function getTaskState(store: Store, direction: Direction, id: string): TaskState | null {
  const row = store.prepare("SELECT state FROM tasks WHERE direction = ? AND id = ?")
    .get(direction, id) as { state: TaskState } | undefined;
  return row?.state ?? null;
}

/**
 * Moves a task to `state` and sets `fields`. Entering `running` sets `started_at` and entering
 * a terminal state sets `finished_at`, unless given. A task already in a terminal state is left
 * alone.
 *
 * @returns `true` if the task was updated; `false` if it does not exist or is terminal.
 *
 * @example
 * ```ts
 * import type { Store } from "./db.ts";
 * declare const store: Store;
 * const id = "t_0123456789";
 * updateTaskState(store, "inbound", id, "running", { run_token: "r_1", pgid: 4242 });
 * updateTaskState(store, "inbound", id, "succeeded", { pgid: null }); // false if cancelled first
 * ```
 */
export function updateTaskState(
  store: Store,
  direction: Direction,
  id: string,
  state: TaskState,
  fields: TaskUpdate = {},
): boolean {
  const now = store.now();
  const sets = ["state = ?", "updated_at = ?"];
  const args: SQLInputValue[] = [state, now];
  const set = (column: string, value: SQLInputValue, expression = "?") => {
    sets.push(`${column} = ${expression}`);
    args.push(value);
  };
  if (fields.started_at !== undefined) set("started_at", fields.started_at);
  else if (state === "running") set("started_at", now, "COALESCE(started_at, ?)");
  if (fields.finished_at !== undefined) set("finished_at", fields.finished_at);
  else if (TERMINAL_STATES.includes(state)) set("finished_at", now, "COALESCE(finished_at, ?)");
  if (fields.error !== undefined) set("error", fields.error ? JSON.stringify(fields.error) : null);
  if (fields.run_token !== undefined) set("run_token", fields.run_token);
  if (fields.pgid !== undefined) set("pgid", fields.pgid);
  if (fields.remote_state !== undefined) set("remote_state", fields.remote_state);
  if (fields.runner !== undefined) set("runner", fields.runner);
  args.push(direction, id);
  const sql = `UPDATE tasks SET ${sets.join(", ")} ` +
    `WHERE direction = ? AND id = ? AND state NOT IN (${TERMINAL_SQL})`;
  return Number(store.prepare(sql).run(...args).changes) > 0;
}
