/**
 * @module
 * Wire schemas for tasks, shared by both daemons: what a requester sends, what a worker
 * answers. These zod schemas are the source of the JSON Schemas in `schemas/`.
 *
 * @example
 * ```ts
 * import { TaskRequest } from "./task.ts";
 * const req = TaskRequest.parse({
 *   id: "t_0123456789abcdef", prompt: "List the failing tests", cwd: "/srv/app", profile: "query",
 * });
 * ```
 */
import { z } from "../deps/zod.ts";
import { isAbsolutePath } from "./paths.ts";

/**
 * Every state a task can be in. `denied` happens at admission, or just before a queued task
 * would start when the worker decides it again and refuses (error code `revoked`).
 */
export const TASK_STATES = [
  "queued",
  "running",
  "succeeded",
  "failed",
  "cancelled",
  "timed_out",
  "interrupted",
  "denied",
] as const;
/** A task state. */
export type TaskState = typeof TASK_STATES[number];

/** States after which nothing about the task changes any more. */
export const TERMINAL_STATES: readonly TaskState[] = [
  "succeeded",
  "failed",
  "cancelled",
  "timed_out",
  "interrupted",
  "denied",
];

/** True when `state` is terminal. */
export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.includes(state);
}

/** A client-made task id: 8–64 characters of `[A-Za-z0-9_-]`, starting alphanumeric. */
export const TaskId = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9_-]{7,63}$/,
  "must be 8-64 characters of letters, digits, '_' or '-', starting with a letter or digit",
);

/** A profile or runner name: lowercase, starts with a letter. */
export const Name = z.string().regex(
  /^[a-z][a-z0-9_-]{0,31}$/,
  "must be lowercase letters, digits, '_' or '-', starting with a letter (max 32)",
);

/** {@link isAbsolutePath} (defined without zod in `./paths.ts`), here as well for the wire's users. */
export { isAbsolutePath };

/** An absolute path (POSIX `/x` or Windows `C:\x`). */
export const AbsolutePath = z.string().min(1).refine(isAbsolutePath, {
  message: "must be an absolute path",
});

/** What a requester sends to `POST /v1/tasks`. Unknown fields are rejected. */
export const TaskRequest = z.strictObject({
  id: TaskId,
  prompt: z.string().min(1, "must not be empty").refine((p) => !p.includes("\0"), {
    message: "must not contain NUL characters",
  }),
  cwd: AbsolutePath.refine((p) => !p.includes("\0"), {
    message: "must not contain NUL characters",
  }),
  profile: Name,
  runner: Name.optional(),
  timeout_s: z.int().positive().max(7 * 24 * 3600).optional(),
});
/** A task request. */
export type TaskRequest = z.infer<typeof TaskRequest>;

/** One progress event of a task, in order (`seq` starts at 1 per task). */
export const TaskEvent = z.strictObject({
  seq: z.int().positive(),
  at: z.string(),
  kind: z.enum(["state", "message", "tool", "denial", "usage", "log", "error"]),
  text: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
});
/** A task event. */
export type TaskEvent = z.infer<typeof TaskEvent>;

/** A permission the runner refused inside its own CLI (e.g. Claude `permission_denials`). */
export const PermissionDenial = z.strictObject({ tool: z.string(), detail: z.string() });
/** A permission denial. */
export type PermissionDenial = z.infer<typeof PermissionDenial>;

/** A git snapshot of the cwd, taken by the worker (not the runner). */
export const GitSnapshot = z.strictObject({
  head: z.string().nullable(),
  status: z.array(z.string()),
});
/** A git snapshot. */
export type GitSnapshot = z.infer<typeof GitSnapshot>;

/** What the worker itself observed. Trustworthy to the extent the worker is. */
export const Evidence = z.strictObject({
  exit_code: z.int().nullable(),
  signal: z.string().nullable(),
  duration_ms: z.int().nonnegative(),
  git: z.strictObject({
    before: GitSnapshot.nullable(),
    after: GitSnapshot.nullable(),
    diff_stat: z.string().nullable(),
    changed_files: z.array(z.string()),
  }).nullable(),
  usage: z.strictObject({
    input_tokens: z.int().nullable(),
    output_tokens: z.int().nullable(),
    cost_usd: z.number().nullable(),
  }),
  permission_denials: z.array(PermissionDenial),
  truncated: z.strictObject({ stdout: z.boolean(), stderr: z.boolean() }),
  stderr_tail: z.string(),
});
/** Evidence. */
export type Evidence = z.infer<typeof Evidence>;

/** What the remote agent says it did. Untrusted: shown as claims, never as facts. */
export const Claims = z.strictObject({
  final_text: z.string().nullable(),
  session_id: z.string().nullable(),
});
/** Claims. */
export type Claims = z.infer<typeof Claims>;

/** A structured error with a code and a message that says what to change. */
export const ErrorInfo = z.strictObject({
  code: z.string(),
  message: z.string(),
  rule: z.string().optional(),
});
/** Error info. */
export type ErrorInfo = z.infer<typeof ErrorInfo>;

/** The final outcome of a task: claims and evidence kept apart. */
export const TaskResult = z.strictObject({
  id: TaskId,
  state: z.enum(TASK_STATES),
  profile: z.string(),
  runner: z.string(),
  cwd: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  claims: Claims,
  evidence: Evidence.nullable(),
  error: ErrorInfo.nullable(),
});
/** A task result. */
export type TaskResult = z.infer<typeof TaskResult>;

/** The status of a task as `GET /v1/tasks/:id` reports it. */
export const TaskStatus = z.strictObject({
  id: TaskId,
  state: z.enum(TASK_STATES),
  profile: z.string(),
  runner: z.string(),
  cwd: z.string(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  last_event: TaskEvent.nullable(),
  error: ErrorInfo.nullable(),
});
/** A task status. */
export type TaskStatus = z.infer<typeof TaskStatus>;

/** The body of every error response: `{"error": {code, message, rule?}}`. */
export const ApiError = z.strictObject({ error: ErrorInfo });
/** An API error body. */
export type ApiError = z.infer<typeof ApiError>;
