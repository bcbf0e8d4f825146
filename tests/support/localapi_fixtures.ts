/**
 * @module
 * Build tailscaled LocalAPI JSON (whois `{Node, UserProfile, CapMap}`, `ipnstate.Status`) from a
 * compact node description, with field names and order as tailscaled emits them (checked
 * against `tests/testdata/tailscale/*.json`, which mirror tailcfg/ipnstate). Values are
 * invented but deterministic per node name. Numeric IDs are BigInts above
 * `Number.MAX_SAFE_INTEGER`, as on old real tailnets, so code that leans on them breaks in tests.
 *
 * @example
 * ```ts
 * import { buildWhoisResponse, tailscaledJson } from "./localapi_fixtures.ts";
 * const body = tailscaledJson(buildWhoisResponse({ name: "laptop", ips: ["100.64.0.2"], login: "alice@example.com" }));
 * ```
 */

/** A node in compact form. Give `login` for a user-owned node or `tags` for a tagged one. */
export interface NodeSpec {
  /** Host name = first MagicDNS label. */
  name: string;
  /** Tailnet addresses (plain IPs). */
  ips: string[];
  /** Owner's login name (untagged nodes). */
  login?: string;
  /** Owner's display name; default derived from the login. */
  displayName?: string;
  /** `tag:...` list: makes the node tagged (login becomes `tagged-devices`). */
  tags?: string[];
  /** App capabilities whois reports for this caller. */
  capMap?: Record<string, unknown[]>;
  /** Hostinfo.OS / PeerStatus.OS. Default `linux`. */
  os?: string;
  /** Default true. */
  online?: boolean;
  /** Default derived from the name. */
  stableId?: string;
  /** Shared in from another tailnet (sets `Node.Sharer`, and `AltSharerUserID` in status). */
  sharer?: boolean;
  /**
   * MagicDNS FQDN with the trailing dot, instead of `<name>.<tailnet suffix>.` (a shared-in
   * node of another tailnet, `buildbox.evil-corp.ts.net.`; headscale's per-user names).
   */
  dnsName?: string;
  /** Key expired (sets `Node.Expired`). */
  expired?: boolean;
}

/** Tailnet-wide settings. */
export interface TailnetSpec {
  /** Default `tail4c2e1.ts.net`. */
  magicDnsSuffix?: string;
  /** Default `example.com`. */
  tailnetName?: string;
}

/** Status-wide settings. */
export interface StatusSpec extends TailnetSpec {
  self: NodeSpec;
  peers: NodeSpec[];
  /** Default `Running`. */
  backendState?: string;
  /** Default true (kernel TUN); false = userspace-networking. */
  tun?: boolean;
  /** Omit peers as `?peers=false` does. */
  withoutPeers?: boolean;
}

/** The placeholder user of tagged nodes (the ID is per-tailnet in reality; fixed here). */
export const TAGGED_USER_ID = 9876543210987n;
const DEFAULT_SUFFIX = "tail4c2e1.ts.net";
const VERSION = "1.90.6-t0123456789-g0123456789";

/** 64-bit FNV-1a of `s` with a seed. */
function fnv64(s: string, seed = 0n): bigint {
  let h = 0xcbf29ce484222325n ^ seed;
  for (const b of new TextEncoder().encode(s)) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

function hex64(s: string, seed: bigint): string {
  return [0n, 1n, 2n, 3n].map((i) => fnv64(s, seed * 16n + i).toString(16).padStart(16, "0")).join(
    "",
  );
}

/** A big (> 2^53) but deterministic int64 for `s`. */
function bigId(s: string, seed: bigint): bigint {
  return (fnv64(s, seed) & ((1n << 59n) - 1n)) | (1n << 59n);
}

/** Deterministic values derived from a node spec. */
export function nodeKeys(spec: NodeSpec) {
  // Nodes that share a host name (a lookalike from another tailnet) differ by their FQDN.
  const id = spec.dnsName === undefined ? spec.name : `${spec.name}@${spec.dnsName}`;
  const h = fnv64(id, 7n).toString(36).toUpperCase().padStart(13, "0");
  return {
    nodeId: bigId(id, 1n),
    userId: spec.tags?.length ? TAGGED_USER_ID : bigId(spec.login ?? spec.name, 2n),
    stableId: spec.stableId ?? `n${h.slice(0, 10)}CNTRL`,
    nodeKey: `nodekey:${hex64(id, 3n)}`,
    machineKey: `mkey:${hex64(id, 4n)}`,
    discoKey: `discokey:${hex64(id, 5n)}`,
  };
}

function checkSpec(spec: NodeSpec): void {
  if (!spec.name || !/^[a-z0-9-]+$/i.test(spec.name)) {
    throw new TypeError(`bad node name ${spec.name}`);
  }
  if (!spec.tags?.length && !spec.login) {
    throw new TypeError(`node ${spec.name}: give login (user node) or tags (tagged node)`);
  }
}

function fqdn(spec: NodeSpec, t: TailnetSpec): string {
  if (spec.dnsName !== undefined) return spec.dnsName;
  return `${spec.name.toLowerCase()}.${t.magicDnsSuffix ?? DEFAULT_SUFFIX}.`;
}

function prefixes(ips: string[]): string[] {
  return ips.map((ip) => (ip.includes(":") ? `${ip}/128` : `${ip}/32`));
}

/** `tailcfg.Node` JSON for a spec. */
export function buildNode(spec: NodeSpec, t: TailnetSpec = {}): Record<string, unknown> {
  checkSpec(spec);
  const k = nodeKeys(spec);
  const node: Record<string, unknown> = {
    ID: k.nodeId,
    StableID: k.stableId,
    Name: fqdn(spec, t),
    User: k.userId,
  };
  if (spec.sharer) node.Sharer = bigId(`sharer-${spec.name}`, 6n);
  node.Key = k.nodeKey;
  if (!spec.tags?.length) node.KeyExpiry = "2027-04-02T09:15:00Z";
  Object.assign(node, {
    Machine: k.machineKey,
    DiscoKey: k.discoKey,
    Addresses: prefixes(spec.ips),
    AllowedIPs: prefixes(spec.ips),
    HomeDERP: 1,
    Hostinfo: { OS: spec.os ?? "linux", Hostname: spec.name },
    Created: "2026-03-01T12:00:00Z",
    Cap: 130,
  });
  if (spec.tags?.length) node.Tags = [...spec.tags];
  node.Online = spec.online ?? true;
  node.MachineAuthorized = true;
  if (spec.expired) node.Expired = true;
  node.ComputedName = spec.name.toLowerCase();
  node.ComputedNameWithHost = spec.name.toLowerCase();
  return node;
}

/** `tailcfg.UserProfile` JSON for a spec. */
export function buildUserProfile(spec: NodeSpec): Record<string, unknown> {
  checkSpec(spec);
  if (spec.tags?.length) {
    return { ID: TAGGED_USER_ID, LoginName: "tagged-devices", DisplayName: "Tagged Devices" };
  }
  const login = spec.login as string;
  return {
    ID: nodeKeys(spec).userId,
    LoginName: login,
    DisplayName: spec.displayName ?? login.split("@")[0],
  };
}

/** `apitype.WhoIsResponse` JSON for a spec (`CapMap` is `null` when empty, as Go marshals it). */
export function buildWhoisResponse(spec: NodeSpec, t: TailnetSpec = {}): Record<string, unknown> {
  const caps = spec.capMap && Object.keys(spec.capMap).length > 0 ? spec.capMap : null;
  return { Node: buildNode(spec, t), UserProfile: buildUserProfile(spec), CapMap: caps };
}

/** `ipnstate.PeerStatus` JSON for a spec. */
export function buildPeerStatus(spec: NodeSpec, t: TailnetSpec = {}): Record<string, unknown> {
  checkSpec(spec);
  const k = nodeKeys(spec);
  const zero = "0001-01-01T00:00:00Z";
  const ps: Record<string, unknown> = {
    ID: k.stableId,
    NodeID: k.nodeId,
    PublicKey: k.nodeKey,
    HostName: spec.name,
    DNSName: fqdn(spec, t),
    OS: spec.os ?? "linux",
    UserID: k.userId,
    ...(spec.sharer ? { AltSharerUserID: bigId(`sharer-${spec.name}`, 6n) } : {}),
    TailscaleIPs: [...spec.ips],
    AllowedIPs: prefixes(spec.ips),
  };
  if (spec.tags?.length) ps.Tags = [...spec.tags];
  Object.assign(ps, {
    Addrs: null,
    CurAddr: "",
    Relay: "fra",
    PeerRelay: "",
    RxBytes: 0,
    TxBytes: 0,
    Created: "2026-03-01T12:00:00Z",
    LastWrite: zero,
    LastSeen: zero,
    LastHandshake: zero,
    Online: spec.online ?? true,
    ExitNode: false,
    ExitNodeOption: false,
    Active: false,
    PeerAPIURL: [],
    TaildropTarget: 0,
    NoFileSharingReason: "",
    InNetworkMap: true,
    InMagicSock: false,
    InEngine: false,
  });
  if (spec.expired) ps.Expired = true;
  if (!spec.tags?.length) ps.KeyExpiry = "2027-04-02T09:15:00Z";
  return ps;
}

/** `ipnstate.Status` JSON for a tailnet description. */
export function buildStatus(s: StatusSpec): Record<string, unknown> {
  const suffix = s.magicDnsSuffix ?? DEFAULT_SUFFIX;
  const users: Record<string, unknown> = {};
  const addUser = (n: NodeSpec) => {
    const up = buildUserProfile(n);
    users[String(up.ID)] = up;
  };
  addUser(s.self);
  let peerMap: Record<string, unknown> | null = null;
  if (!s.withoutPeers) {
    peerMap = {};
    for (const p of s.peers) {
      peerMap[nodeKeys(p).nodeKey] = buildPeerStatus(p, s);
      addUser(p);
    }
  }
  return {
    Version: VERSION,
    TUN: s.tun ?? true,
    BackendState: s.backendState ?? "Running",
    HaveNodeKey: true,
    AuthURL: "",
    TailscaleIPs: [...s.self.ips],
    Self: buildPeerStatus(s.self, s),
    Health: [],
    MagicDNSSuffix: suffix,
    CurrentTailnet: {
      Name: s.tailnetName ?? "example.com",
      MagicDNSSuffix: suffix,
      MagicDNSEnabled: true,
    },
    CertDomains: [fqdn(s.self, s).replace(/\.$/, "")],
    ExtraRecords: null,
    Peer: peerMap,
    User: users,
    ClientVersion: { RunningLatest: true },
  };
}

/**
 * JSON text as Go's encoding/json writes it: BigInts as bare integers, `<`, `>`, `&`, U+2028 and
 * U+2029 escaped, tab indent by default (`indent: ""` for compact).
 */
export function tailscaledJson(value: unknown, indent = "\t"): string {
  const marker = "\u0000bigint:";
  const text = JSON.stringify(
    value,
    (_k, v) => (typeof v === "bigint" ? `${marker}${v}` : v),
    indent === "" ? undefined : indent,
  );
  return text
    .replace(/"\\u0000bigint:(-?\d+)"/g, "$1")
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
