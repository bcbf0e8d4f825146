/**
 * @module
 * The worker's admission decision for one task request: may this caller run this profile with
 * this runner in this cwd here? Pure: the caller's identity comes from whois, the cwd and the
 * rule roots arrive already canonicalised (`inbound/cwd_resolve.ts`).
 *
 * Order of checks (the first failure is reported):
 * 1. `[inbound] enabled` → `inbound.disabled`
 * 2. prompt size ≤ `max_prompt_bytes` → `limits.prompt_size`
 * 3. at least one `[[inbound.allow]]` rule names the caller (caller.ts) → `inbound.no_matching_rule`
 * 4. the profile is defined and enabled in `[profiles]` → `profile.unknown` / `profile.disabled`
 * 5. per matching rule, in this order: the rule lists the profile (`inbound.allow[i].profile`),
 *    the rule lists the runner (`inbound.allow[i].runner`), the runner is available here
 *    (`runner.unavailable`), the cwd is canonical (`cwd.invalid`) and exists
 *    (`cwd.not_found`) and lies inside one of the rule's roots (`inbound.allow[i].cwd`), the
 *    timeout is ≤ `max_timeout_s` (`limits.timeout`)
 * 6. if `tailscale.app_capability` is set, the caller's grant allows it too (`grant.*`)
 *
 * Reasons never become a file-system oracle: "does not exist" and "resolves to …" are only
 * said for a requested path that lexically lies inside one of the rule's roots; anything else
 * is simply "outside the allowed roots".
 *
 * The request is allowed if ONE rule passes every step of 5; fields are never combined across
 * rules. When none does, the reason is that of the rule that got furthest (ties: lowest index).
 *
 * @example
 * ```ts
 * import { Config } from "../config/schema.ts";
 * import { inboundDecision } from "./inbound.ts";
 * const config = Config.parse({ inbound: { enabled: true, allow: [{ peers: ["laptop"], cwd: ["/srv/app"] }] } });
 * const d = inboundDecision({
 *   config,
 *   caller: { node: "laptop", dnsName: "laptop.ts.net.", stableId: "n1", login: "ann@x", tags: [], capMap: {} },
 *   request: { cwdReal: "/etc", cwdRequested: "/etc", profile: "query", runner: "claude", promptBytes: 10 },
 *   rootsReal: [["/srv/app"]], runnersAvailable: ["claude"], caseInsensitive: false,
 * });
 * d.rule; // "inbound.allow[0].cwd"
 * ```
 */
import type { InboundRule } from "../config/schema.ts";
import { callerName, describeCaller, matchingRules, type RuleMatch } from "./caller.ts";
import { type Allow, type Deny, deny, listOrNone } from "./decision.ts";
import { grantDecision } from "./grants.ts";
import { isInside, parseAbsolutePath, type ParsedPath, parseLexically } from "./path.ts";
import type { CallerIdentity, InboundPolicyConfig, PeerLimits } from "./types.ts";

export { allowedFor } from "./allowed.ts";

/** The request as the worker sees it after resolving cwd and runner. */
export interface InboundRequest {
  /** Realpath of the cwd; `null` when it does not exist or could not be resolved. */
  cwdReal: string | null;
  /** The cwd as the requester sent it (for messages). */
  cwdRequested: string;
  /** Why the cwd could not be resolved, when `cwdReal` is null (from `resolveCwd`). */
  cwdProblem?: string;
  profile: string;
  /** The requested runner, or the worker's default when none was asked for. */
  runner: string;
  promptBytes: number;
  timeoutS?: number;
}

/** Everything {@link inboundDecision} reads. */
export interface InboundInput {
  config: InboundPolicyConfig;
  caller: CallerIdentity;
  request: InboundRequest;
  /** Realpath of each rule's cwd roots, same shape as `inbound.allow[i].cwd`; null = missing. */
  rootsReal: readonly (readonly (string | null)[])[];
  /** Runners installed and enabled on this node. */
  runnersAvailable: readonly string[];
  /** Fold case when comparing paths (only when the file system is case-insensitive). */
  caseInsensitive: boolean;
}

/** What an allow carries for the scheduler and the audit log. */
export interface InboundMatch {
  /** Index of the `[[inbound.allow]]` rule that allowed the request. */
  ruleIndex: number;
  /** The selector that matched the caller (`peer laptop`, `tag:ci`, `login ann@x`). */
  by: string;
  /** Per-peer limits from that rule. */
  limits: PeerLimits;
  /** The timeout to apply: the requested one, or the configured default. */
  timeoutS: number;
  /** The grant value that allowed it, when grants are configured. */
  grantValueIndex?: number;
}

/** An inbound decision: an allow names the rule it matched. */
export type InboundDecision = (Allow & { matched: InboundMatch }) | Deny;

/**
 * Decides whether a request is admitted by policy (see the module doc for the check order).
 */
export function inboundDecision(input: InboundInput): InboundDecision {
  const { config, caller, request } = input;
  const who = callerName(caller);
  const inbound = config.inbound;
  if (!inbound.enabled) {
    return deny(
      "inbound.disabled",
      "inbound delegation is disabled on this node ([inbound] enabled = false)",
      "the owner of this node can enable it with [inbound] enabled = true and an [[inbound.allow]] rule",
    );
  }
  if (request.promptBytes > inbound.max_prompt_bytes) {
    return deny(
      "limits.prompt_size",
      `the prompt is ${request.promptBytes} bytes; this node accepts at most ` +
        `${inbound.max_prompt_bytes} bytes (inbound.max_prompt_bytes)`,
      "shorten the prompt, e.g. point at files in the cwd instead of pasting them",
    );
  }
  const matches = matchingRules(caller, inbound.allow);
  if (matches.length === 0) {
    return deny(
      "inbound.no_matching_rule",
      `no [[inbound.allow]] rule on this node matches the caller (${describeCaller(caller)})`,
      `the owner of this node can add a rule naming ${who} in peers, one of its tags, or its login`,
    );
  }
  const profileDeny = checkProfileGlobally(config.profiles, request.profile);
  if (profileDeny) return profileDeny;

  let best: { stage: number; deny: Deny } | null = null;
  for (const match of matches) {
    const outcome = evaluateRule(input, match);
    if (!("deny" in outcome)) return finishAllowed(input, match);
    if (best === null || outcome.stage > best.stage) best = outcome;
  }
  const closest = best!.deny;
  if (matches.length > 1) {
    closest.reason += ` (${matches.length} rules match ${who}; none allows the whole request ` +
      `on its own, this is the closest)`;
  }
  return closest;
}

const PASSED = 5;

function checkProfileGlobally(
  profiles: InboundPolicyConfig["profiles"],
  profile: string,
): Deny | null {
  const enabled = Object.keys(profiles).filter((p) => profiles[p].enabled);
  if (!Object.hasOwn(profiles, profile)) {
    return deny(
      "profile.unknown",
      `profile ${profile} is not defined on this node; enabled profiles: ${listOrNone(enabled)}`,
    );
  }
  if (!profiles[profile].enabled) {
    return deny(
      "profile.disabled",
      `profile ${profile} is disabled on this node; enabled profiles: ${listOrNone(enabled)}`,
      `use one of the enabled profiles, or the owner of this node sets ` +
        `[profiles.${profile}] enabled = true`,
    );
  }
  return null;
}

/** Runs step 5 for one rule: the stage reached (0–4) with its denial, or PASSED. */
function evaluateRule(
  input: InboundInput,
  match: RuleMatch,
): { stage: number; deny: Deny } | { stage: typeof PASSED } {
  const { config, caller, request } = input;
  const i = match.index;
  const rule: InboundRule = config.inbound.allow[i];
  const who = callerName(caller);
  const id = `inbound.allow[${i}]` as const;
  if (!rule.profiles.includes(request.profile)) {
    return {
      stage: 0,
      deny: deny(
        `${id}.profile`,
        `profile ${request.profile} is not allowed for ${who} by ${id} (matched by ` +
          `${match.by}); allowed profiles: ${listOrNone(rule.profiles)}`,
        `use one of the allowed profiles, or the owner of this node adds ` +
          `"${request.profile}" to ${id}.profiles`,
      ),
    };
  }
  if (!rule.runners.includes(request.runner)) {
    return {
      stage: 1,
      deny: deny(
        `${id}.runner`,
        `runner ${request.runner} is not allowed for ${who} by ${id}; allowed runners: ` +
          `${listOrNone(rule.runners)}`,
        "pick one of the allowed runners",
      ),
    };
  }
  if (!input.runnersAvailable.includes(request.runner)) {
    return {
      stage: 2,
      deny: deny(
        "runner.unavailable",
        `runner ${request.runner} is not installed or not enabled on this node; available ` +
          `runners: ${listOrNone(input.runnersAvailable)}`,
        "pick an available runner, or the owner of this node installs it (cmesh doctor)",
      ),
    };
  }
  const cwdDeny = checkCwd(input, i, who);
  if (cwdDeny) return { stage: 3, deny: cwdDeny };
  const max = config.inbound.max_timeout_s;
  if (request.timeoutS !== undefined && request.timeoutS > max) {
    return {
      stage: 4,
      deny: deny(
        "limits.timeout",
        `a timeout of ${request.timeoutS}s was asked for; this node allows at most ${max}s ` +
          `(inbound.max_timeout_s)`,
        `ask for timeout_s ≤ ${max}`,
      ),
    };
  }
  return { stage: PASSED };
}

/**
 * Step 5's cwd check for one rule. What a denial reveals is limited on purpose: "does not
 * exist" and "resolves to …" are only said for paths that lexically lie inside one of the
 * rule's roots, so a caller cannot probe the rest of the file system through reasons.
 */
function checkCwd(input: InboundInput, ruleIndex: number, who: string): Deny | null {
  const { request, caseInsensitive } = input;
  const id = `inbound.allow[${ruleIndex}]` as const;
  const configured = input.config.inbound.allow[ruleIndex].cwd;
  const real = input.rootsReal[ruleIndex] ?? [];
  const roots: ParsedPath[] = [];
  const missing: string[] = [];
  configured.forEach((root, j) => {
    const resolved = real[j] ?? null;
    const parsed = resolved === null ? null : parseAbsolutePath(resolved);
    if (parsed?.ok) roots.push(parsed.path);
    else missing.push(root);
  });
  const requested = parseLexically(request.cwdRequested);
  const spellings = [
    ...roots,
    ...configured.map(parseLexically).filter((r): r is ParsedPath => r !== null),
  ];
  const requestedInside = requested !== null &&
    spellings.some((root) => isInside(requested, root, caseInsensitive));
  const outside = (shown: string): Deny => {
    const existing = configured.filter((r) => !missing.includes(r));
    let reason = `cwd ${shown} is outside the allowed roots for ${who}: ${listOrNone(existing)}`;
    if (missing.length > 0) {
      reason += `; configured roots missing on this node: ${missing.join(", ")}`;
    }
    return deny(`${id}.cwd`, `${reason} (${id})`, "use a cwd inside one of the allowed roots");
  };

  if (request.cwdReal === null) {
    if (!requestedInside) return outside(request.cwdRequested);
    const problem = request.cwdProblem ?? "does not exist or is not a directory";
    return deny(
      "cwd.not_found",
      `cwd ${request.cwdRequested} ${problem} on this node`,
      "check the path on the target node; it must be an existing directory",
    );
  }
  const cwd = parseAbsolutePath(request.cwdReal);
  if (!cwd.ok) {
    return deny(
      "cwd.invalid",
      `cwd ${request.cwdRequested} ${cwd.problem} after resolving; it must resolve to a ` +
        `canonical absolute path`,
    );
  }
  if (roots.some((root) => isInside(cwd.path, root, caseInsensitive))) return null;
  const escaped = requestedInside && !sameDisplay(request.cwdRequested, request.cwdReal);
  return outside(
    escaped ? `${request.cwdRequested} (resolves to ${request.cwdReal})` : request.cwdRequested,
  );
}

function sameDisplay(requested: string, real: string): boolean {
  const trim = (s: string) => s.length > 1 ? s.replace(/[\\/]+$/, "") : s;
  return trim(requested) === trim(real);
}

function finishAllowed(input: InboundInput, match: RuleMatch): InboundDecision {
  const { config, caller, request } = input;
  const rule = config.inbound.allow[match.index];
  const who = callerName(caller);
  const id = `inbound.allow[${match.index}]` as const;
  const matched: InboundMatch = {
    ruleIndex: match.index,
    by: match.by,
    limits: peerLimitsOf(rule),
    timeoutS: request.timeoutS ??
      Math.min(config.inbound.default_timeout_s, config.inbound.max_timeout_s),
  };
  let reason = `${who} (matched by ${match.by}) may run profile ${request.profile} with runner ` +
    `${request.runner} in ${request.cwdReal} under ${id}`;
  const capability = config.tailscale.app_capability;
  if (capability !== undefined) {
    const grant = grantDecision({
      capability,
      caller,
      request: {
        profile: request.profile,
        cwdReal: request.cwdReal!,
        runner: request.runner,
        caseInsensitive: input.caseInsensitive,
      },
    });
    if (!grant.allow) return grant;
    matched.grantValueIndex = grant.grantValueIndex;
    reason += ` and ${grant.rule} of the tailnet grant ${capability}`;
  }
  return { allow: true, rule: id, reason, matched };
}

function peerLimitsOf(rule: InboundRule): PeerLimits {
  const limits: PeerLimits = {};
  if (rule.max_concurrent !== undefined) limits.maxConcurrent = rule.max_concurrent;
  if (rule.max_queue !== undefined) limits.maxQueue = rule.max_queue;
  return limits;
}
