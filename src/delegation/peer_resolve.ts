/**
 * @module
 * Finding a peer's worker address: `outbound.peers[].address` when set, else the peer's
 * tailnet IP from LocalAPI `status` (matched by host name, MagicDNS name or IP).
 */
import type { OutboundPeer } from "../config/schema.ts";
import type { PeerStatus, TailnetStatus } from "../tailscale/status.ts";
import type { PeerAddress } from "./peer_client.ts";

/** Source of tailnet status (LocalAPI), or null where there is none (local demo). */
export type StatusSource = () => Promise<
  { ok: true; status: TailnetStatus } | { ok: false; reason: string }
>;

/** Finds `name` among tailnet peers. Pure. */
export function findTailnetPeer(status: TailnetStatus, name: string): PeerStatus | null {
  const n = name.toLowerCase().replace(/\.$/, "");
  return status.peers.find((p) => p.name === n || p.dnsName === n || p.addresses.includes(n)) ??
    null;
}

/** Resolves a configured peer to an address. */
export async function resolvePeerAddress(
  peer: OutboundPeer,
  statusSource: StatusSource | null,
): Promise<
  { ok: true; address: PeerAddress; online: boolean | null } | { ok: false; message: string }
> {
  if (peer.address) {
    return {
      ok: true,
      address: { name: peer.name, host: peer.address, port: peer.port },
      online: null,
    };
  }
  if (!statusSource) {
    return {
      ok: false,
      message:
        `peer ${peer.name} has no address and there is no tailnet here; set outbound.peers[].address`,
    };
  }
  const st = await statusSource();
  if (!st.ok) {
    return {
      ok: false,
      message:
        `cannot look up ${peer.name} on the tailnet: ${st.reason}. Start tailscaled, or set outbound.peers[].address for ${peer.name}`,
    };
  }
  const found = findTailnetPeer(st.status, peer.name);
  if (!found) {
    const known = st.status.peers.map((p) => p.name).slice(0, 20).join(", ") || "none";
    return {
      ok: false,
      message:
        `${peer.name} is not a peer on this tailnet (peers: ${known}); check the name in outbound.peers`,
    };
  }
  if (found.online === false) {
    return {
      ok: false,
      message:
        `${peer.name} is offline on the tailnet (Tailscale reports it not connected); wake it or try later`,
    };
  }
  const ip = found.addresses.find((a) => !a.includes(":")) ?? found.addresses[0];
  if (!ip) return { ok: false, message: `${peer.name} has no tailnet address in status` };
  return {
    ok: true,
    address: { name: peer.name, host: ip, port: peer.port },
    online: found.online,
  };
}
