/**
 * @module
 * The result type of every policy check: allow or deny, always with a stable machine `rule` id
 * and a `reason` sentence that names what was asked and what is allowed.
 *
 * Rule ids are the table in `protocol/rules.ts` ({@link RuleId}; indexed ones carry the index
 * of the config entry, e.g. `inbound.allow[0].cwd`), listed for users in `docs/errors.md`.
 *
 * @example
 * ```ts
 * import { deny } from "./decision.ts";
 * const d = deny("inbound.disabled", "inbound delegation is disabled on this node");
 * d.allow; // false
 * ```
 */
import type { RuleId } from "../protocol/rules.ts";

/** A positive decision. Specific checks add fields (e.g. `matched`). */
export interface Allow {
  allow: true;
  rule: RuleId;
  reason: string;
}

/** A negative decision: which rule, why, and optionally what to change. */
export interface Deny {
  allow: false;
  rule: RuleId;
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
export function allow(rule: RuleId, reason: string): Allow {
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
export function deny(rule: RuleId, reason: string, hint?: string): Deny {
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
