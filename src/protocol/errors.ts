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

/** Builds `{"error": {code, message, rule?}}`. */
export function errorBody(code: ErrorCode, message: string, rule?: string): ApiError {
  return { error: rule ? { code, message, rule } : { code, message } };
}
