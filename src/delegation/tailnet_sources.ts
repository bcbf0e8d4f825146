/**
 * @module
 * What the requester asks tailscaled, as plain functions: the tailnet status (peer names to
 * addresses) and whois (who holds an address). Its own module, so a daemon can hold these from
 * start without the requester's code (`daemon/control_side.ts` builds that when first needed).
 *
 * @example
 * ```ts
 * import { tailnetSources } from "./tailnet_sources.ts";
 * const { status, whois } = tailnetSources(null); // local demo, local-only: no tailnet
 * status === null && whois === null; // true
 * ```
 */
import type { LocalApiClient } from "../tailscale/localapi.ts";
import type { StatusSource, WhoisSource } from "./peer_resolve.ts";

/** Tailnet status and whois through LocalAPI; both null without one (demo, local-only). */
export function tailnetSources(
  localApi: LocalApiClient | null,
): { status: StatusSource | null; whois: WhoisSource | null } {
  if (localApi === null) return { status: null, whois: null };
  return {
    status: async () => {
      const st = await localApi.status();
      return st.ok ? { ok: true, status: st } : { ok: false, reason: st.reason };
    },
    whois: (ip, port) => localApi.whois(ip, port),
  };
}
