/**
 * @module
 * The worker's real identity source: LocalAPI whois (with a 2 s success-only cache), plus the
 * identity rules policy does not see: a node whose key expired, or a node shared in from
 * another tailnet, is refused (fail closed), and so is this node calling itself by accident
 * of routing.
 */
import type { Config } from "../config/schema.ts";
import { LocalApiClient } from "../tailscale/localapi.ts";
import { CachingWhois } from "../tailscale/whois_cache.ts";
import type { IdentityLookup, IdentityOutcome } from "./ports.ts";

/** Builds the whois-backed identity lookup from `[tailscale]` config. */
export function tailnetIdentityLookup(
  ts: Config["tailscale"],
  selfStableId?: string,
): IdentityLookup {
  const client = LocalApiClient.fromConfig(ts);
  const whois = new CachingWhois(client);
  return {
    async whois(ip: string, port: number): Promise<IdentityOutcome> {
      const r = await whois.whois(ip, port);
      if (!r.ok) return { ok: false, code: r.code, reason: r.reason };
      const id = r.identity;
      if (id.expired) {
        return {
          ok: false,
          code: "refused",
          reason: `node ${id.node}'s Tailscale key has expired; re-authenticate it`,
        };
      }
      if (id.shared) {
        return {
          ok: false,
          code: "refused",
          reason:
            `node ${id.node} is shared in from another tailnet; cmesh serves only nodes of this tailnet`,
        };
      }
      if (selfStableId && id.stableId === selfStableId) {
        return {
          ok: false,
          code: "refused",
          reason:
            `the caller is this node itself (${id.node}): a local process calling its own tailnet address is refused, so local users cannot act as this node`,
        };
      }
      return { ok: true, identity: id };
    },
  };
}
