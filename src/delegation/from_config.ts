/**
 * @module
 * The requester side of one daemon, built from its config and its LocalAPI: the outbound
 * policy as the requester's decision, the configured peers (`peer_directory.ts`) as its
 * resolver, and first contacts pinned there. `daemon/main.ts` only passes what it has.
 *
 * @example
 * ```ts
 * import type { Config } from "../config/schema.ts";
 * import type { Store } from "../store/db.ts";
 * import { outboundFromConfig } from "./from_config.ts";
 * import { tailnetSources } from "./tailnet_sources.ts";
 * declare const config: Config;
 * declare const store: Store;
 * const { requester, peers } = outboundFromConfig({
 *   store, self: "laptop", config, ...tailnetSources(null),
 * });
 * await peers.list();
 * requester.close();
 * ```
 */
import type { Config } from "../config/schema.ts";
import { outboundDecision } from "../policy/outbound.ts";
import type { Store } from "../store/db.ts";
import { PeerDirectory } from "./peer_directory.ts";
import type { PeerTarget, StatusSource, WhoisSource } from "./peer_resolve.ts";
import { Requester } from "./requester.ts";

/** What {@link outboundFromConfig} needs. */
export interface OutboundDeps {
  store: Store;
  /** This node's name, the actor of outbound audit records. */
  self: string;
  config: Pick<Config, "outbound" | "profiles">;
  status: StatusSource | null;
  whois: WhoisSource | null;
  /** Told when a first contact pinned a peer (the daemon logs it). */
  onPinned?: (peer: string, target: PeerTarget) => void;
}

/** The requester and the configured peers it resolves names with. */
export function outboundFromConfig(
  deps: OutboundDeps,
): { requester: Requester; peers: PeerDirectory } {
  const { store, self, config } = deps;
  const peers = new PeerDirectory({
    store,
    self,
    peers: config.outbound.peers,
    status: deps.status,
    whois: deps.whois,
  });
  const requester = new Requester({
    store,
    self,
    defaultTimeoutS: config.outbound.default_timeout_s,
    decide: (i) => outboundDecision({ outbound: config.outbound, profiles: config.profiles, ...i }),
    resolvePeer: async (name) => {
      const r = await peers.resolve(name);
      return r.ok ? { ok: true, address: r.target.address, target: r.target } : r;
    },
    onContact: (name, target) => {
      if (peers.recordContact(name, target)) deps.onPinned?.(name, target);
    },
  });
  return { requester, peers };
}
