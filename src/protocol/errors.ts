/**
 * @module
 * Error codes shared by the worker and control APIs, and the helper that builds an error
 * body. Every error says what to change; denials also name the rule.
 *
 * @example
 * ```ts
 * import { errorBody } from "./errors.ts";
 * errorBody("denied", "cwd /etc is outside the allowed roots", "inbound.allow[0].cwd");
 * ```
 */
import type { Context } from "hono";
import type { QuotedRule, RuleId } from "./rules.ts";
import type { ApiError } from "./task.ts";

/** The error codes either API returns, with their HTTP status. */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  invalid_request: 400,
  unauthorized: 401,
  not_tailnet: 403,
  unknown_peer: 403,
  forbidden: 403,
  denied: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  queue_full: 429,
  internal: 500,
  identity_unavailable: 503,
  storage_unavailable: 503,
  sandbox_unavailable: 503,
  peer_unreachable: 502,
  peer_not_cmesh: 502,
  peer_response_too_large: 502,
  peer_denied: 403,
  peer_busy: 429,
} as const;
/** An error code. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * The base of cmesh's own errors: a machine-readable `code` next to a message that says what
 * to change; `name` is the subclass's name. An error that is not one is a bug.
 *
 * @example
 * ```ts
 * class PlanError extends CmeshError<"invalid_plan"> {
 *   constructor(message: string) {
 *     super("invalid_plan", message);
 *   }
 * }
 * new PlanError("peer buildbox is not configured").name; // "PlanError"
 * ```
 */
export class CmeshError<C extends string = string> extends Error {
  constructor(readonly code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An HTTP status some error code answers with. */
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

/** An error answer not yet sent: the body and the status its code has in {@link ERROR_STATUS}. */
export interface ErrorReply {
  status: ErrorStatus;
  body: ApiError;
}

/** Builds `{"error": {code, message, rule?}}`. */
export function errorBody(code: ErrorCode, message: string, rule?: RuleId | QuotedRule): ApiError {
  return { error: rule ? { code, message, rule } : { code, message } };
}

/**
 * An error answer for a layer that does not hold the HTTP context (the worker's admission):
 * the status always comes from the code.
 *
 * @example
 * ```ts
 * errorReply("queue_full", "3 tasks of yours are queued", "limits.per_peer_queued").status; // 429
 * ```
 */
export function errorReply(
  code: ErrorCode,
  message: string,
  rule?: RuleId | QuotedRule,
): ErrorReply {
  return { status: ERROR_STATUS[code], body: errorBody(code, message, rule) };
}

/**
 * Answers a request with an error, its status taken from the code; `extra` adds fields next to
 * `error` (e.g. the `task` a refusal refers to).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * new Hono().get("/v1/tasks/:id", (c) => replyError(c, "not_found", "no task t_1 of yours here"));
 * ```
 */
export function replyError(
  // deno-lint-ignore no-explicit-any
  c: Context<any, any>,
  code: ErrorCode,
  message: string,
  rule?: RuleId | QuotedRule,
  extra: Record<string, unknown> = {},
): Response {
  return c.json({ ...errorBody(code, message, rule), ...extra }, ERROR_STATUS[code]);
}
