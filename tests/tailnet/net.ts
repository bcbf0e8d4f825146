/**
 * @module
 * The physical network of the real-tailnet tests: one namespace per host, all on one Linux
 * bridge, and no route out. Namespaces are named `cmtn-<random>-<role>`; the bridge `br0`
 * lives in the `hub` namespace (which also runs headscale); every other host gets a veth pair
 * (`v<role>` on the bridge, `eth0` inside). Addresses come from 198.18.0.0/24 (RFC 2544
 * benchmarking range: never routed anywhere). No namespace has a default route and the root
 * namespace is not attached, so nothing can leave the machine.
 *
 * @example
 * ```ts
 * import { createLan } from "./net.ts";
 * const lan = await createLan(["laptop", "server"]);
 * try {
 *   console.log(lan.ns.server, lan.addr.server); // cmtn-1a2b3c4d-server 198.18.0.3
 * } finally {
 *   await lan.destroy();
 * }
 * ```
 */
import { createTopology, ip } from "../support/netns.ts";

/** The hub's address on the bridge (headscale, DERP, STUN listen here). */
export const HUB_ADDR = "198.18.0.1";
const PREFIX = "198.18.0";

/** Live namespaces on one bridge. */
export interface Lan {
  /** Role → namespace name (`hub` included). */
  ns: Record<string, string>;
  /** Role → address on the bridge (`hub` included). */
  addr: Record<string, string>;
  /** Kills every process still inside the namespaces (only ours can be there), deletes them. */
  destroy(): Promise<void>;
}

/**
 * Creates `hub` plus one namespace per role in `roles` (lowercase words, at most 8 letters),
 * addresses `198.18.0.1` (hub), `.2`, `.3`, ... in the order given (`createTopology` of
 * `tests/support/netns.ts`). On failure, everything built so far is removed again.
 */
export async function createLan(roles: string[]): Promise<Lan> {
  const addr: Record<string, string> = {};
  const namespaces: Record<string, string[]> = {};
  ["hub", ...roles].forEach((role, i) => {
    addr[role] = `${PREFIX}.${i + 1}`;
    namespaces[role] = [`${addr[role]}/24`];
  });
  const topo = await createTopology({ prefix: "cmtn", bridgeNs: "hub", namespaces });
  return { ns: topo.ns, addr, destroy: topo.destroy };
}

/** True when no namespace named `cmtn-<id>-*` of this LAN is left. */
export async function lanGone(lan: Lan): Promise<boolean> {
  const out = await ip("netns", "list");
  return !Object.values(lan.ns).some((n) => out.includes(n));
}
