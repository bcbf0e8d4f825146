/**
 * @module
 * Every rule id a decision, refusal or denial names: the one vocabulary the policy, the
 * worker's front door, the requester and the setup tools share. `[i]` stands for the index of
 * the config entry or grant value (`inbound.allow[0].cwd`). {@link RuleId} is the type every
 * emitter uses, so a misspelt id fails `deno check`; `docs/errors.md` lists the same table and
 * `tests/protocol/errors_test.ts` fails when the two differ.
 *
 * @example
 * ```ts
 * import type { RuleId } from "./rules.ts";
 * const rule: RuleId = "inbound.allow[0].cwd";
 * ```
 */

/** Rule id (with `[i]` for an index) → when it is named. */
export const RULES = {
  "inbound.allow[i]": "allowed by inbound rule i",
  "inbound.disabled": "`[inbound] enabled = false`",
  "inbound.no_matching_rule": "no `[[inbound.allow]]` rule names the caller",
  "inbound.allow[i].profile": "rule i does not list the profile",
  "inbound.allow[i].runner": "rule i does not list the runner",
  "inbound.allow[i].cwd": "the cwd is outside every root of rule i",
  "profile.unknown": "the profile is not defined in `[profiles]`",
  "profile.disabled": "the profile exists but `enabled = false`",
  "runner.unavailable": "the runner is allowed but not installed or enabled here",
  "cwd.invalid": "the cwd is not absolute, or still has `.`/`..` segments",
  "cwd.not_found": "the cwd does not exist, is not a directory, or cannot be resolved",
  "cwd.changed": "at dequeue the cwd resolves to another directory than the one admitted",
  "limits.prompt_size": "the prompt is larger than `inbound.max_prompt_bytes`",
  "limits.timeout": "the requested timeout is above `inbound.max_timeout_s`",
  "limits.admit": "admitted: queue space left",
  "limits.global_queue": "admission: the worker's queue is full",
  "limits.peer_queue": "admission: the caller's share of the queue is full",
  "limits.per_peer_queued": "admission: the caller has as many tasks queued as its rule allows",
  "limits.start": "a queued task may start now",
  "limits.global_concurrency": "a queued task waits: the worker runs as many as it may",
  "limits.peer_concurrency":
    "a queued task waits: the caller's tasks run as many as its rule allows",
  "limits.streams": "the worker holds as many event streams as it may",
  "limits.streams_per_caller": "the caller holds as many event streams as it may",
  "grant.missing": "`tailscale.app_capability` is set and the caller has no such capability",
  "grant.invalid": "a capability value is malformed (fail closed)",
  "grant.profile": "no single grant value allows the profile",
  "grant.cwd": "no single grant value allows the cwd",
  "grant.runner": "no single grant value allows the runner",
  "grant.value[i]": "allowed by grant value i",
  "front.origin": "the worker refuses a request with an `Origin` or a cross-site `Sec-Fetch-Site`",
  "front.host": "the worker refuses a `Host` that is not this node's tailnet address or name",
  "source.not_tailnet": "the connection does not come from a tailnet address",
  "identity.unknown_peer": "tailscaled's whois does not know the caller",
  "identity.unavailable": "tailscaled cannot be asked who the caller is (fail closed)",
  "identity.refused": "the caller's identity is one cmesh never serves (e.g. a shared-in node)",
  "task.identity_missing": "a stored task lacks the identity its admission recorded",
  "sandbox.mode": '`[sandbox] mode = "required"` and no sandbox is available',
  "outbound.peers[i]": "allowed by outbound peer entry i",
  "outbound.peer_unknown": "the peer is not in `[[outbound.peers]]`",
  "outbound.peer_ambiguous": "the peer name matches several `[[outbound.peers]]` entries",
  "outbound.profile": "the peer entry does not allow the profile",
  "outbound.cwd": "the peer entry does not allow the cwd",
  "outbound.peer_foreign": "the name matches only a shared-in node or one outside this tailnet",
  "outbound.name_ambiguous": "the name matches several tailnet nodes",
  "outbound.pin_mismatch": "the pinned name now means another node",
  "outbound.whois_mismatch": "whois of the destination names another node than the pin",
  "outbound.whois_failed": "whois of the destination failed (fail closed)",
  "setup.widening_needs_user": "a setup plan that widens access needs the user's own confirmation",
} as const;

/** A rule id as written in {@link RULES}, `[i]` for an index. */
export type RuleName = keyof typeof RULES;

type Indexed<K extends string> = K extends `${infer A}[i]${infer B}`
  ? `${A}[${number}]${Indexed<B>}`
  : K;

/** A rule id as emitted: the indexes filled in (`inbound.allow[0].cwd`). */
export type RuleId = Indexed<RuleName>;

/**
 * A rule id another node named (a peer's refusal), passed on as it gave it: cmesh quotes it
 * and does not check it against {@link RULES}.
 */
export type QuotedRule = string & { readonly quoted: unique symbol };

/**
 * Marks a rule id that came from elsewhere (a peer's answer, a stored record) as quoted.
 *
 * @example
 * ```ts
 * const rule = quoteRule("inbound.allow[3].cwd");
 * ```
 */
export function quoteRule(rule: string): QuotedRule {
  return rule as QuotedRule;
}
