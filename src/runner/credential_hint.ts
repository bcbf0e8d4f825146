/**
 * @module
 * A cmesh hint for a run that failed because the runner had no (or a rejected) credential:
 * the CLIs' own words ("Not logged in · Please run /login", "401 Unauthorized", "Missing
 * environment variable") point at their interactive login, which a worker cannot use. The hint
 * says which variable the worker's daemon lacks (names only, never values) and where it goes:
 * `service.env` beside `config.toml`, then a restart.
 *
 * @example
 * ```ts
 * import { withCredentialHint } from "./credential_hint.ts";
 * import { claudeManifest } from "./builtin/claude.ts";
 * const e = withCredentialHint(
 *   { code: "runner_error", message: "Not logged in · Please run /login" },
 *   claudeManifest,
 *   { HOME: "/home/ann" },
 * );
 * // e.message ends with "cmesh: the worker's daemon has no ANTHROPIC_API_KEY ..., put it in
 * // /home/ann/.config/cmesh/service.env ... and restart it: cmesh service install"
 * ```
 */
import { join } from "node:path";
import { cmeshPaths } from "../config/paths.ts";
import type { TaskError } from "../protocol/task_errors.ts";
import type { RunnerManifest } from "./manifest.ts";

/** What Claude Code and Codex print when they have no usable credential. */
const AUTH_FAILURE =
  /not logged in|please run \/login|invalid api key|\b401\b|unauthorized|authentication_error|missing environment variable|api key.{0,20}(missing|not set)/i;
const MISSING_VAR = /missing environment variable:?\s*`?([A-Za-z_][A-Za-z0-9_]*)`?/i;

/** Env names that carry credentials (a manifest may also pass e.g. a base URL). */
export function credentialNames(names: readonly string[]): string[] {
  return [...new Set(names)].filter((n) => /KEY|TOKEN|SECRET|AUTH|PASSWORD/i.test(n));
}

/** Where the service reads runner secrets from, for the worker whose env this is. */
export function serviceEnvPath(env: Readonly<Record<string, string>>): string {
  try {
    return join(cmeshPaths({ os: Deno.build.os, env: { ...env } }).configDir, "service.env");
  } catch {
    return "service.env beside config.toml";
  }
}

/**
 * `error` with a cmesh hint appended when its text shows a credential problem; otherwise
 * `error` unchanged.
 *
 * @param childEnv the runner's (scrubbed) environment: which credential names it had
 */
export function withCredentialHint(
  error: TaskError,
  manifest: Pick<RunnerManifest, "name" | "env">,
  childEnv: Readonly<Record<string, string>>,
): TaskError {
  if (!AUTH_FAILURE.test(error.message)) return error;
  const missingVar = MISSING_VAR.exec(error.message)?.[1];
  const names = credentialNames([
    ...manifest.env.pass,
    ...Object.keys(childEnv),
    ...(missingVar ? [missingVar] : []),
  ]);
  const present = names.filter((n) => (childEnv[n] ?? "") !== "" && n !== missingVar);
  const file = serviceEnvPath(childEnv);
  const hint = present.length === 0
    ? `the worker's daemon has no ${
      missingVar ?? (names.join(" or ") || "API key")
    } for runner ${manifest.name}; put it in ${file} (one NAME=value per line) and restart it: cmesh service install (a daemon started by hand takes it from its shell)`
    : `the worker's daemon gives runner ${manifest.name} ${
      present.join(", ")
    }, which was not accepted; check the value in ${file} and restart it: cmesh service install`;
  return { ...error, message: `${error.message} — cmesh: ${hint}` };
}
