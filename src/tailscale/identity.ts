/**
 * @module
 * Who a caller is, as cmesh's policy sees it: the pure mapping from a tailscaled whois answer to
 * a {@link PeerIdentity}.
 *
 * Principal rule (as Tailscale's own tools do): a **tagged** node's identity is its tags and it
 * has no user (`login: null`; tailscaled reports the placeholder login `tagged-devices`); an
 * untagged node acts for `UserProfile.LoginName`. Names are lowercased so policy matching is
 * case-insensitive like DNS. Numeric IDs are never used; `stableId` is the key.
 *
 * @example
 * ```ts
 * import { identityFromWhois } from "./identity.ts";
 * const r = identityFromWhois(JSON.parse(await Deno.readTextFile("whois.json")));
 * if (r.ok) console.log(r.identity.node, r.identity.login ?? r.identity.tags);
 * ```
 */
import { normalizeIp } from "./addr.ts";
import { issuesLine } from "../util/zod_issues.ts";
import { WhoIsResponseWire } from "./wire.ts";

/** The login tailscaled reports for the placeholder user of tagged nodes. */
export const TAGGED_DEVICES_LOGIN = "tagged-devices";

/** A caller's identity, from whois. */
export interface PeerIdentity {
  /** Short host name: first label of the MagicDNS name, lowercased (fallback: ComputedName). */
  node: string;
  /** MagicDNS FQDN without the trailing dot, lowercased (`""` if the control server set none). */
  dnsName: string;
  /** Tailscale's stable node ID (string; the only ID cmesh keys on). */
  stableId: string;
  /** The user's login name, or `null` for tagged nodes (whose identity is `tags`). */
  login: string | null;
  /** `tag:...` list; non-empty means the node is tagged. */
  tags: string[];
  /** The node's tailnet addresses, normalised, without prefix lengths. */
  addresses: string[];
  /** Application capabilities granted to this caller (whois `CapMap`), cap name → values. */
  capMap: Record<string, unknown[]>;
  /** True when the node is shared in from another tailnet (`Node.Sharer` / `ShareeNode`). */
  shared: boolean;
  /** True when tailscaled marks the node's key as expired. */
  expired: boolean;
}

/** Mapping outcome: an identity, or why the whois body is unusable. */
export type IdentityResult = { ok: true; identity: PeerIdentity } | { ok: false; reason: string };

/** `name.example.ts.net.` → `name.example.ts.net`, lowercased. */
export function trimDnsName(name: string): string {
  return name.replace(/\.$/, "").toLowerCase();
}

/** First DNS label of a MagicDNS name, lowercased. */
export function shortName(dnsName: string): string {
  return trimDnsName(dnsName).split(".")[0];
}

/** `100.64.0.2/32` → `100.64.0.2`; `null` when not an address. */
function prefixAddress(prefix: string): string | null {
  const slash = prefix.indexOf("/");
  return normalizeIp(slash === -1 ? prefix : prefix.slice(0, slash));
}

/**
 * Map a parsed whois JSON body (`{Node, UserProfile, CapMap}`) to a {@link PeerIdentity}.
 * Fails (never guesses) when required fields are missing or malformed, when the node has no
 * name at all, or when an address does not parse.
 *
 * @example
 * ```ts
 * const r = identityFromWhois({
 *   Node: { StableID: "nX", Name: "ci.tail1.ts.net.", Addresses: ["100.64.0.9/32"], Tags: ["tag:ci"] },
 *   UserProfile: { LoginName: "tagged-devices" },
 *   CapMap: null,
 * });
 * // r.ok && r.identity → { node: "ci", login: null, tags: ["tag:ci"], ... }
 * ```
 */
export function identityFromWhois(body: unknown): IdentityResult {
  const parsed = WhoIsResponseWire.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      reason: `whois JSON has an unexpected shape: ${issuesLine(parsed.error.issues, 3)}`,
    };
  }
  const { Node: n, UserProfile: u, CapMap: capMap } = parsed.data;
  const dnsName = trimDnsName(n.Name);
  const node = dnsName !== "" ? dnsName.split(".")[0] : (n.ComputedName ?? "").toLowerCase();
  if (node === "") {
    return { ok: false, reason: `whois node ${n.StableID} has neither Name nor ComputedName` };
  }
  const addresses: string[] = [];
  for (const prefix of n.Addresses) {
    const ip = prefixAddress(prefix);
    if (ip === null) {
      return {
        ok: false,
        reason: `whois node ${n.StableID} has a malformed address ${JSON.stringify(prefix)}`,
      };
    }
    addresses.push(ip);
  }
  const tags = [...n.Tags];
  const tagged = tags.length > 0 || u.LoginName === TAGGED_DEVICES_LOGIN;
  const login = tagged || u.LoginName === "" ? null : u.LoginName;
  return {
    ok: true,
    identity: {
      node,
      dnsName,
      stableId: n.StableID,
      login,
      tags,
      addresses,
      capMap,
      shared: (n.Sharer !== undefined && n.Sharer !== 0) || n.Hostinfo?.ShareeNode === true,
      expired: n.Expired === true,
    },
  };
}
