/**
 * @module
 * Which `[[inbound.allow]]` rules name a caller, and how to name the caller in a reason.
 *
 * A rule matches when any of its selectors matches:
 * - `peers`: an entry without a dot equals the short node name exactly; an entry with a dot
 *   is a MagicDNS name and equals `dnsName` ignoring case and a trailing dot;
 * - `tags`: the caller carries one of the tags (exact);
 * - `logins`: the caller's login equals an entry exactly, and the caller is not tagged (a
 *   tagged node's identity is its tags; its "login" is a placeholder and never matches).
 * A rule with no selectors matches nobody.
 *
 * @example
 * ```ts
 * import { matchingRules } from "./caller.ts";
 * const caller = { node: "ci-3", dnsName: "ci-3.ts.net.", stableId: "n1", login: null,
 *   tags: ["tag:ci"], capMap: {} };
 * matchingRules(caller, [{ peers: [], tags: ["tag:ci"], logins: [] }]); // [{ index: 0, by: "tag:ci" }]
 * ```
 */
import type { InboundRule } from "../config/schema.ts";
import type { CallerIdentity } from "./types.ts";

/** A rule that names the caller: its index in `inbound.allow` and the selector that matched. */
export interface RuleMatch {
  index: number;
  /** e.g. `peer laptop`, `tag:ci`, `login ann@example.com`. */
  by: string;
}

/** Lower-cases a DNS name and drops one trailing dot. */
export function normaliseDnsName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/**
 * The selector of `rule` that matches `caller`, or `null` when none does.
 *
 * @example
 * ```ts
 * import { ruleSelectsCaller } from "./caller.ts";
 * const caller = { node: "laptop", dnsName: "laptop.tail1.ts.net.", stableId: "n1",
 *   login: "ann@example.com", tags: [], capMap: {} };
 * ruleSelectsCaller({ peers: ["LAPTOP.tail1.ts.net"], tags: [], logins: [] }, caller);
 * // "peer LAPTOP.tail1.ts.net"
 * ```
 */
export function ruleSelectsCaller(
  rule: Pick<InboundRule, "peers" | "tags" | "logins">,
  caller: CallerIdentity,
): string | null {
  const dns = normaliseDnsName(caller.dnsName);
  for (const peer of rule.peers) {
    if (peer.includes(".")) {
      if (dns !== "" && normaliseDnsName(peer) === dns) return `peer ${peer}`;
    } else if (caller.node !== "" && peer === caller.node) {
      return `peer ${peer}`;
    }
  }
  for (const tag of rule.tags) {
    if (caller.tags.includes(tag)) return tag;
  }
  if (caller.tags.length === 0 && caller.login !== null && caller.login !== "") {
    for (const login of rule.logins) {
      if (login === caller.login) return `login ${login}`;
    }
  }
  return null;
}

/**
 * Every rule (in config order) that names the caller.
 */
export function matchingRules(
  caller: CallerIdentity,
  rules: readonly Pick<InboundRule, "peers" | "tags" | "logins">[],
): RuleMatch[] {
  const matches: RuleMatch[] = [];
  rules.forEach((rule, index) => {
    const by = ruleSelectsCaller(rule, caller);
    if (by !== null) matches.push({ index, by });
  });
  return matches;
}

/**
 * A short name for the caller in reasons: the node name (or DNS name when the node name is
 * empty).
 *
 * @example
 * ```ts
 * import { callerName } from "./caller.ts";
 * callerName({ node: "laptop", dnsName: "", stableId: "", login: null, tags: [], capMap: {} });
 * // "laptop"
 * ```
 */
export function callerName(caller: CallerIdentity): string {
  return caller.node || normaliseDnsName(caller.dnsName) || caller.stableId || "unknown node";
}

/**
 * Everything the rules can select on, for a "no rule matches" reason.
 *
 * @example
 * ```ts
 * import { describeCaller } from "./caller.ts";
 * describeCaller({ node: "ci-3", dnsName: "ci-3.ts.net.", stableId: "n1", login: null,
 *   tags: ["tag:ci"], capMap: {} });
 * // "node ci-3, DNS name ci-3.ts.net, tags tag:ci, no login (tagged node)"
 * ```
 */
export function describeCaller(caller: CallerIdentity): string {
  const parts = [`node ${caller.node || "(none)"}`];
  parts.push(`DNS name ${normaliseDnsName(caller.dnsName) || "(none)"}`);
  parts.push(caller.tags.length ? `tags ${caller.tags.join(", ")}` : "no tags");
  if (caller.tags.length > 0) parts.push("no login (tagged node)");
  else parts.push(caller.login ? `login ${caller.login}` : "no login");
  return parts.join(", ");
}

/**
 * The runner a request gets when it names none: the first runner, in rule order, that a rule
 * matching the caller allows and that is installed; else the first installed one (policy then
 * explains why it is not allowed).
 *
 * @example
 * ```ts
 * import { defaultRunnerFor } from "./caller.ts";
 * const caller = { node: "laptop", dnsName: "", stableId: "", login: null, tags: [], capMap: {} };
 * defaultRunnerFor(caller, [{ peers: ["laptop"], tags: [], logins: [], runners: ["codex"] }], ["claude", "codex"]);
 * // "codex"
 * ```
 */
export function defaultRunnerFor(
  caller: CallerIdentity,
  rules: readonly Pick<InboundRule, "peers" | "tags" | "logins" | "runners">[],
  available: readonly string[],
): string {
  for (const { index } of matchingRules(caller, rules)) {
    const found = rules[index].runners.find((r) => available.includes(r));
    if (found) return found;
  }
  return available[0] ?? "none";
}
