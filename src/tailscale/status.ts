/**
 * @module
 * The pure mapping from tailscaled's `GET /localapi/v0/status` JSON to what cmesh uses: this
 * node (health check, which addresses to bind, userspace mode) and the peer list (`cmesh peers`,
 * name resolution for the requester). Never used to authorize a caller: that is whois.
 *
 * @example
 * ```ts
 * import { statusFromWire } from "./status.ts";
 * const r = statusFromWire(JSON.parse(await Deno.readTextFile("status.json")));
 * if (r.ok && r.status.backendState === "Running") console.log(r.status.self?.addresses);
 * ```
 */
import { normalizeIp } from "./addr.ts";
import { shortName, trimDnsName } from "./identity.ts";
import { issuesLine } from "../util/zod_issues.ts";
import { type PeerStatusWire, StatusWire } from "./wire.ts";

/** This node, from `Status.Self`. */
export interface SelfStatus {
  /** Short host name (first MagicDNS label, lowercased; fallback HostName). */
  name: string;
  /** MagicDNS FQDN without trailing dot, lowercased. */
  dnsName: string;
  stableId: string;
  /** Tailnet addresses, normalised. */
  addresses: string[];
  online: boolean;
  tags: string[];
}

/** One peer, from `Status.Peer`. */
export interface PeerStatus extends SelfStatus {
  /** OS as the peer reports it (display only). */
  os: string;
  /**
   * Not a node of this tailnet in its own right: shared in from another tailnet
   * (`AltSharerUserID`) or present only as a sharee's node (`ShareeNode`).
   */
  shared: boolean;
}

/** The useful part of `ipnstate.Status`. */
export interface TailnetStatus {
  /** `Running` is the only state in which whois can answer (`NeedsLogin`, `Stopped`, ...). */
  backendState: string;
  /** MagicDNS suffix, e.g. `tail4c2e1.ts.net` (`""` without MagicDNS). */
  magicDnsSuffix: string;
  /** `false` in userspace-networking mode: tailnet callers then arrive from 127.0.0.1. */
  tun: boolean;
  /** tailscaled's version string. */
  version: string;
  /** tailscaled's health warnings. */
  health: string[];
  /** This node; `null` when tailscaled reports none (e.g. before login). */
  self: SelfStatus | null;
  /** Peers, sorted by dnsName then stableId. */
  peers: PeerStatus[];
}

/** Mapping outcome. */
export type StatusMapResult = { ok: true; status: TailnetStatus } | { ok: false; reason: string };

function mapPeer(p: PeerStatusWire, where: string): PeerStatus | string {
  const addresses: string[] = [];
  for (const a of p.TailscaleIPs) {
    const ip = normalizeIp(a);
    if (ip === null) return `${where} has a malformed address ${JSON.stringify(a)}`;
    addresses.push(ip);
  }
  const dnsName = trimDnsName(p.DNSName);
  return {
    name: dnsName !== "" ? shortName(dnsName) : p.HostName.toLowerCase(),
    dnsName,
    stableId: p.ID,
    addresses,
    online: p.Online,
    tags: [...p.Tags],
    os: p.OS,
    shared: p.ShareeNode === true ||
      (p.AltSharerUserID !== undefined && p.AltSharerUserID !== null && p.AltSharerUserID !== 0),
  };
}

/**
 * Map a parsed status JSON body to a {@link TailnetStatus}; fails on a shape mismatch or a
 * malformed address.
 */
export function statusFromWire(body: unknown): StatusMapResult {
  const parsed = StatusWire.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      reason: `status JSON has an unexpected shape: ${issuesLine(parsed.error.issues, 3)}`,
    };
  }
  const s = parsed.data;
  let self: SelfStatus | null = null;
  if (s.Self) {
    const mapped = mapPeer(s.Self, "Self");
    if (typeof mapped === "string") return { ok: false, reason: `status: ${mapped}` };
    const { os: _os, shared: _shared, ...rest } = mapped;
    self = rest;
  }
  const peers: PeerStatus[] = [];
  for (const [key, p] of Object.entries(s.Peer)) {
    const mapped = mapPeer(p, `peer ${key}`);
    if (typeof mapped === "string") return { ok: false, reason: `status: ${mapped}` };
    peers.push(mapped);
  }
  peers.sort((a, b) =>
    a.dnsName < b.dnsName ? -1 : a.dnsName > b.dnsName ? 1 : a.stableId < b.stableId ? -1 : 1
  );
  return {
    ok: true,
    status: {
      backendState: s.BackendState,
      magicDnsSuffix: trimDnsName(s.MagicDNSSuffix),
      tun: s.TUN,
      version: s.Version,
      health: [...s.Health],
      self,
      peers,
    },
  };
}
