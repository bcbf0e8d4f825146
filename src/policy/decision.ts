/**
 * @module
 * The result type of every policy check: allow or deny, always with a stable machine `rule` id
 * and a `reason` sentence that names what was asked and what is allowed.
 *
 * Rule ids (indexed ones carry the index of the config entry, e.g. `inbound.allow[0].cwd`):
 *
 * | id | when |
 * | --- | --- |
 * | `inbound.disabled` | `[inbound] enabled = false` |
 * | `limits.prompt_size` | prompt larger than `inbound.max_prompt_bytes` |
 * | `inbound.no_matching_rule` | no `[[inbound.allow]]` rule names the caller |
 * | `profile.unknown` | the profile is not defined in `[profiles]` |
 * | `profile.disabled` | the profile exists but `enabled = false` |
 * | `inbound.allow[i].profile` | rule i does not list the profile |
 * | `inbound.allow[i].runner` | rule i does not list the runner |
 * | `runner.unavailable` | the runner is allowed but not installed/enabled here |
 * | `cwd.invalid` | cwd not absolute, or still has `.`/`..` segments |
 * | `cwd.not_found` | cwd does not exist, is not a directory, or cannot be resolved |
 * | `inbound.allow[i].cwd` | cwd outside every root of rule i |
 * | `limits.timeout` | requested timeout above `inbound.max_timeout_s` |
 * | `grant.missing` | `tailscale.app_capability` set, caller has no such capability |
 * | `grant.invalid` | a capability value is malformed (fail closed) |
 * | `grant.profile` / `grant.cwd` / `grant.runner` | no single grant value allows the request |
 * | `limits.global_queue` / `limits.peer_queue` | admission: no queue space left |
 * | `limits.global_concurrency` / `limits.peer_concurrency` | `canStart`: must wait |
 * | `outbound.peer_unknown` / `outbound.peer_ambiguous` | peer not (uniquely) in `[[outbound.peers]]` |
 * | `outbound.profile` / `outbound.cwd` | peer entry does not allow the profile / cwd |
 *
 * Allow ids: `inbound.allow[i]`, `outbound.peers[i]`, `limits.admit`, `limits.start`.
 *
 * @example
 * ```ts
 * import { deny } from "./decision.ts";
 * const d = deny("inbound.disabled", "inbound delegation is disabled on this node");
 * d.allow; // false
 * ```
 */

/** A positive decision. Specific checks add fields (e.g. `matched`). */
export interface Allow {
  allow: true;
  rule: string;
  reason: string;
}

/** A negative decision: which rule, why, and optionally what to change. */
export interface Deny {
  allow: false;
  rule: string;
  reason: string;
  /** What the caller or the worker's admin can do about it. */
  hint?: string;
  /** For load denials: seconds after which a retry may succeed. */
  retryAfterS?: number;
}

/** Allow or deny, with a stable rule id and a human/agent-readable reason. */
export type Decision = Allow | Deny;

/**
 * Builds an {@link Allow}.
 *
 * @example
 * ```ts
 * import { allow } from "./decision.ts";
 * allow("limits.admit", "queue has room").allow; // true
 * ```
 */
export function allow(rule: string, reason: string): Allow {
  return { allow: true, rule, reason };
}

/**
 * Builds a {@link Deny}; `hint` is omitted when not given.
 *
 * @example
 * ```ts
 * import { deny } from "./decision.ts";
 * deny("profile.disabled", "profile full is disabled", "enable it in config.toml").hint;
 * ```
 */
export function deny(rule: string, reason: string, hint?: string): Deny {
  return hint === undefined ? { allow: false, rule, reason } : { allow: false, rule, reason, hint };
}

/**
 * Joins names for a reason sentence; an empty list reads as "(none)".
 *
 * @example
 * ```ts
 * import { listOrNone } from "./decision.ts";
 * listOrNone(["/srv/app", "/home/ann/src"]); // "/srv/app, /home/ann/src"
 * listOrNone([]); // "(none)"
 * ```
 */
export function listOrNone(items: readonly string[]): string {
  return items.length === 0 ? "(none)" : items.join(", ");
}
