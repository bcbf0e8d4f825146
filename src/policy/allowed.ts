/**
 * @module
 * What a caller may do on this node, for `/v1/hello` and `cmesh policy explain`: the rules
 * that name it, narrowed to what is actually usable (enabled profiles, available runners),
 * the global limits, and the state of its tailnet grant. Nothing here admits a request;
 * `inboundDecision` does, per request.
 *
 * @example
 * ```ts
 * import { Config } from "../config/schema.ts";
 * import { allowedFor } from "./allowed.ts";
 * const config = Config.parse({ inbound: { enabled: true, allow: [{ tags: ["tag:ci"], cwd: ["/srv/ci"] }] } });
 * const caller = { node: "ci-3", dnsName: "ci-3.ts.net.", stableId: "n1", login: null, tags: ["tag:ci"], capMap: {} };
 * allowedFor(caller, config, ["claude"]).rules[0].runners; // ["claude"]
 * ```
 */
import { matchingRules } from "./caller.ts";
import { type GrantValue, parseGrant } from "./grants.ts";
import type { CallerIdentity, InboundPolicyConfig } from "./types.ts";

/** One rule that names the caller, narrowed to what can be used now. */
export interface AllowedRule {
  ruleIndex: number;
  /** The selector that matched (`peer laptop`, `tag:ci`, `login ann@x`). */
  by: string;
  /** Profiles the rule lists that are also enabled on this node. */
  profiles: string[];
  /** cwd roots as configured (a task's cwd must be one of them or inside one, after realpath). */
  cwd: string[];
  /** Runners the rule lists that are also available on this node. */
  runners: string[];
  maxConcurrent?: number;
  maxQueue?: number;
}

/** The caller's grant as this node sees it; `null` when grants are not required here. */
export type AllowedGrant =
  | null
  | { capability: string; status: "absent" }
  | { capability: string; status: "invalid"; problems: string[] }
  | { capability: string; status: "ok"; values: GrantValue[] };

/** The summary {@link allowedFor} returns. */
export interface AllowedSummary {
  inboundEnabled: boolean;
  /** Empty when inbound is disabled or no rule names the caller. */
  rules: AllowedRule[];
  limits: {
    maxPromptBytes: number;
    defaultTimeoutS: number;
    maxTimeoutS: number;
    maxConcurrent: number;
    maxQueue: number;
  };
  grant: AllowedGrant;
}

/**
 * Summarises what `caller` may do here. Each rule is listed separately because rules never
 * combine: a request must fit inside one rule (and one grant value).
 */
export function allowedFor(
  caller: CallerIdentity,
  config: InboundPolicyConfig,
  runnersAvailable: readonly string[],
): AllowedSummary {
  const { inbound, profiles } = config;
  const enabled = (p: string) => Object.hasOwn(profiles, p) && profiles[p].enabled;
  const rules: AllowedRule[] = !inbound.enabled
    ? []
    : matchingRules(caller, inbound.allow).map(({ index, by }) => {
      const rule = inbound.allow[index];
      const summary: AllowedRule = {
        ruleIndex: index,
        by,
        profiles: rule.profiles.filter(enabled),
        cwd: [...rule.cwd],
        runners: rule.runners.filter((r) => runnersAvailable.includes(r)),
      };
      if (rule.max_concurrent !== undefined) summary.maxConcurrent = rule.max_concurrent;
      if (rule.max_queue !== undefined) summary.maxQueue = rule.max_queue;
      return summary;
    });
  const capability = config.tailscale.app_capability;
  return {
    inboundEnabled: inbound.enabled,
    rules,
    limits: {
      maxPromptBytes: inbound.max_prompt_bytes,
      defaultTimeoutS: Math.min(inbound.default_timeout_s, inbound.max_timeout_s),
      maxTimeoutS: inbound.max_timeout_s,
      maxConcurrent: inbound.max_concurrent,
      maxQueue: inbound.max_queue,
    },
    grant: capability === undefined
      ? null
      : { capability, ...parseGrant(caller.capMap, capability) },
  };
}
