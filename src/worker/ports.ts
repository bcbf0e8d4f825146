/**
 * @module
 * The narrow interfaces the worker HTTP surface depends on, so its handlers stay thin and its
 * tests can pass small fakes instead of the whole daemon.
 */
import type { CallerIdentity } from "../policy/types.ts";
import type { TaskEvent, TaskRequest, TaskResult, TaskStatus } from "../protocol/task.ts";
import type { ErrorReply } from "../protocol/errors.ts";
import type { RuleId } from "../protocol/rules.ts";

/** The answer of a whois lookup: an identity, or why there is none (fail closed). */
export type IdentityOutcome =
  | { ok: true; identity: CallerIdentity }
  | {
    ok: false;
    code: "not_found" | "unavailable" | "bad_response" | "denied" | "refused";
    reason: string;
  };

/** Who is calling, from the connection's own source address. */
export interface IdentityLookup {
  whois(ip: string, port: number): Promise<IdentityOutcome>;
}

/** What `/v1/hello` tells a caller. */
export interface HelloBody {
  cmesh: string;
  protocol: number;
  node: string;
  you: { node: string; login: string | null; tags: string[] };
  allowed: unknown;
}

/** The outcome of a submission or cancel: a status to return, or an error. */
export type TaskOutcome =
  | { ok: true; status: 200 | 202; task: TaskStatus }
  | { ok: false; retryAfterS?: number } & ErrorReply;

/** Admission, queries and cancel, scoped to the caller (a caller sees only its own tasks). */
/** The most events one read returns (a stream reads on until a page comes back short). */
export const EVENTS_PAGE = 1000;

/** See {@link WorkerTasks.since}. */
export interface TaskNews {
  events: TaskEvent[];
  ended: { status: TaskStatus; result: TaskResult | null } | null;
}

export interface WorkerTasks {
  hello(caller: CallerIdentity): HelloBody;
  submit(caller: CallerIdentity, req: TaskRequest, sourceIp: string): Promise<TaskOutcome>;
  status(caller: CallerIdentity, id: string): TaskStatus | null;
  /** `null`: no such task for this caller; `"pending"`: not finished yet. */
  result(caller: CallerIdentity, id: string): TaskResult | "pending" | null;
  events(caller: CallerIdentity, id: string, afterSeq: number): TaskEvent[] | null;
  /**
   * What is new of the caller's task `id` after `afterSeq`, read at once (one look at the task
   * per stream wake-up): its events (at most one page, {@link EVENTS_PAGE}) and, once it is
   * terminal, its status and stored result (`null` when none was stored). `null`: not the
   * caller's task.
   */
  since(caller: CallerIdentity, id: string, afterSeq: number): TaskNews | null;
  /** Ids of the caller's tasks that are not terminal yet. */
  openTaskIds(caller: CallerIdentity): string[];
  /** Calls `onChange` with the id of every task that changes; returns the unsubscribe. */
  subscribeAll(onChange: (id: string) => void): () => void;
  cancel(caller: CallerIdentity, id: string): Promise<TaskOutcome>;
  /** Records a denial that happened before a caller was known (source or whois). */
  auditDenied(
    info: { sourceIp: string; rule: RuleId; reason: string; identity?: CallerIdentity },
  ): void;
}
