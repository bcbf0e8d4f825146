/**
 * @module
 * Every error code a task can end with (the `error.code` of its status and result): the worker's
 * (its run, its runner's setup, a refusal at dequeue) and the requester's (the peer could not
 * be given the task); the runner's start-up problems share its codes. {@link TaskError} is what cmesh emits, so a misspelt code fails `deno
 * check`; what a peer sent is read as plain {@link ErrorInfo} (a peer of another version may
 * have codes this one does not) and passed on as {@link QuotedTaskError}. `docs/errors.md` lists
 * the same table and `tests/protocol/errors_test.ts` fails when the two differ.
 *
 * @example
 * ```ts
 * import type { TaskError } from "./task_errors.ts";
 * const e: TaskError = { code: "timed_out", message: "the runner exceeded its 600s timeout" };
 * ```
 */
import type { QuotedRule, RuleId } from "./rules.ts";
import type { ErrorInfo } from "./task.ts";

/** Task error code → when a task ends with it. */
export const TASK_ERRORS = {
  revoked: "decided again just before it started and refused; `rule` says which rule",
  cancelled: "cancelled by its requester (before it started, or its process tree was stopped)",
  timed_out: "the runner ran past the task's timeout and was stopped",
  interrupted: "the worker's daemon stopped while the task ran; submit it again if still needed",
  runner_unavailable: "the task's runner is no longer available on the worker",
  runner_spawn_failed: "the runner's process could not be started",
  runner_failed: "the runner ended without a result and without an error of its own",
  sandbox_unavailable: "the run's sandbox could not be set up",
  egress_unavailable: 'egress `"model"` could not be set up for the run (socat, proxy slots)',
  runner_no_result: "the runner exited without printing its result (cancelled, killed, crashed)",
  runner_exit_nonzero: "the runner printed a result but exited non-zero or by a signal",
  runner_error: "the runner reported an error (its own text follows)",
  runner_api_error: "the runner's model API answered with an error status",
  runner_max_turns: "the runner stopped at its turn limit",
  runner_turn_failed: "Codex reported its turn as failed",
  runner_model_unreachable: "Codex kept waiting for an unreachable model API and was stopped",
  runner_manifest_invalid:
    "start-up: a runner manifest cannot be read or does not match its schema",
  runner_name_clash: "start-up: two runner manifests (or one and a built-in) have one name",
  runner_binary_not_found: "start-up: the runner's binary is not installed where cmesh looks",
  runner_binary_not_absolute: "the runner's binary resolved to a path that is not absolute",
  runner_version_probe_failed: "start-up: the runner's `--version` probe failed",
  runner_unknown_profile: "the runner's manifest has no arguments for the task's profile",
  runner_cwd_unsafe: "the manifest puts the cwd inside an argument in a way cmesh refuses",
  runner_env_unsafe: "an environment value for the runner contains control characters",
  runner_prompt_unsafe: "the prompt cannot be an argument (a NUL, or a leading `-` with no `--`)",
  runner_prompt_too_long: "the prompt is longer than the runner's command line can carry",
  runner_batch_file: "the runner's binary is a Windows batch file (never started through cmd.exe)",
  denied_by_peer: "requester: the peer's policy or identity check refused; `rule` is the peer's",
  unreachable: "requester: the peer did not answer (offline, timed out), or never got the task",
  not_cmesh: "requester: the peer is online but cmesh does not answer on its worker port",
  peer_response_too_large: "requester: the peer sent more than cmesh reads; reading stopped",
  busy: "requester: the peer's queue was full or it could not store the task; retry later",
  invalid: "requester: the peer refused the request as malformed",
} as const;
/** A task error code cmesh emits. */
export type TaskErrorCode = keyof typeof TASK_ERRORS;

/** A task's error as cmesh emits it: a code from {@link TASK_ERRORS}, a rule from `rules.ts`. */
export interface TaskError {
  code: TaskErrorCode;
  message: string;
  rule?: RuleId | QuotedRule;
}

/** A task error a peer reported, passed on as it gave it (its code is not checked). */
export type QuotedTaskError = ErrorInfo & { readonly quoted: unique symbol };

/**
 * Marks a task error that came from a peer's answer as quoted.
 *
 * @example
 * ```ts
 * const e = quoteTaskError({ code: "runner_new_kind", message: "from a newer peer" });
 * ```
 */
export function quoteTaskError(error: ErrorInfo): QuotedTaskError {
  return error as QuotedTaskError;
}
