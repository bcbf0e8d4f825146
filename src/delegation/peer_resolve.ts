/**
 * @module
 * Which node a configured peer name means, and the check that the address about to be
 * contacted is that node. The requester sends only to the peer it means:
 *
 * - a name is matched against MagicDNS names only (the FQDN, or its first label), never the
 *   host name a node chose for itself; nodes shared in from another tailnet or whose name is
 *   outside this tailnet's MagicDNS suffix are never candidates (`outbound.peer_foreign`);
 * - a name that matches more than one node is refused with the candidates
 *   (`outbound.name_ambiguous`);
 * - a pinned peer (`outbound.peers[].stable_id`, or a pin learned on first contact or set with
 *   `cmesh peers pin`) is the node with that StableID; a name that now resolves to another
 *   node is refused until the user re-pins it (`outbound.pin_mismatch`);
 * - before a task is sent, LocalAPI whois of the destination address must name the same node
 *   (`outbound.whois_mismatch`, `outbound.pin_mismatch`), in this tailnet, not shared in; when
 *   whois cannot answer, nothing is sent (`outbound.whois_failed`).
 *
 * An `address` outside the tailnet (loopback, a LAN host: the local demo, tests) cannot be
 * attributed by whois: it is used as configured and reported as unverified, and cannot be
 * pinned.
 */
import type { OutboundPeer } from "../config/schema.ts";
import type { RuleId } from "../protocol/rules.ts";
import { isTailnetIp, normalizeIp } from "../tailscale/addr.ts";
import type { PeerIdentity } from "../tailscale/identity.ts";
import type { PeerStatus, TailnetStatus } from "../tailscale/status.ts";
import type { PeerAddress } from "./peer_client.ts";

/** Source of tailnet status (LocalAPI), or null where there is none (local demo). */
export type StatusSource = () => Promise<
  { ok: true; status: TailnetStatus } | { ok: false; reason: string }
>;

/** LocalAPI whois of an address (the destination, here). */
export type WhoisSource = (
  ip: string,
  port: number,
) => Promise<{ ok: true; identity: PeerIdentity } | { ok: false; reason: string }>;

/** The pin in force for a peer name: from config.toml, or stored. */
export interface PinRef {
  stableId: string;
  source: "config" | "first_contact" | "user";
}

/** A destination that passed the checks. */
export interface PeerTarget {
  address: PeerAddress;
  /** Tailscale's online flag, or null without status (configured address). */
  online: boolean | null;
  /** The node's StableID as whois confirmed it; null for an address outside the tailnet. */
  stableId: string | null;
  dnsName: string | null;
  /** `first_use`: not pinned yet, pin it once it answers; `unverified`: outside the tailnet. */
  pin: PinRef["source"] | "first_use" | "unverified";
}

/** The outcome of resolving a peer: a target, or why not (a `rule` when it is a refusal). */
export type ResolveResult = { ok: true; target: PeerTarget } | {
  ok: false;
  message: string;
  rule?: RuleId;
};

/** What {@link resolvePeerTarget} reads. */
export interface ResolveDeps {
  status: StatusSource | null;
  whois: WhoisSource | null;
  pin: PinRef | null;
}

/** True when `dnsName` lies under this tailnet's MagicDNS suffix (unknown suffix: true). */
export function inThisTailnet(dnsName: string, suffix: string): boolean {
  const s = suffix.toLowerCase().replace(/^\.|\.$/g, "");
  if (s === "") return true;
  return dnsName.toLowerCase().replace(/\.$/, "").endsWith(`.${s}`);
}

function describe(p: Pick<PeerStatus, "dnsName" | "stableId" | "addresses">): string {
  return `${p.dnsName || "(no MagicDNS name)"} (node ${p.stableId}${
    p.addresses[0] ? `, ${p.addresses[0]}` : ""
  })`;
}

/**
 * The nodes `name` may mean: `eligible` (this tailnet's own nodes whose MagicDNS name, first
 * label or address is `name`) and `foreign` (matches that are shared in or outside the
 * tailnet, never used). Pure.
 */
export function tailnetCandidates(
  status: TailnetStatus,
  name: string,
): { eligible: PeerStatus[]; foreign: PeerStatus[] } {
  const n = name.toLowerCase().replace(/\.$/, "");
  const ip = normalizeIp(n);
  const matches = status.peers.filter((p) => {
    if (ip !== null) return p.addresses.includes(ip);
    if (p.dnsName === "") return false; // a self-chosen host name is not an identity
    return p.dnsName === n || p.dnsName.split(".")[0] === n;
  });
  const foreign = (p: PeerStatus) => p.shared || !inThisTailnet(p.dnsName, status.magicDnsSuffix);
  return {
    eligible: matches.filter((p) => !foreign(p)),
    foreign: matches.filter(foreign),
  };
}

function refuse(rule: RuleId, message: string): ResolveResult {
  return { ok: false, rule, message: `${message} [rule ${rule}]` };
}

function foreignRefusal(name: string, foreign: PeerStatus[]): ResolveResult {
  return refuse(
    "outbound.peer_foreign",
    `${name} matches only ${
      foreign.map(describe).join(", ")
    }: shared in from another tailnet or outside this tailnet, so cmesh never sends it tasks. ` +
      `If you mean a node of your own tailnet, use its full MagicDNS name in outbound.peers`,
  );
}

/** Picks the node from status (by pin, else by a unique name). */
function pickFromStatus(
  peer: OutboundPeer,
  status: TailnetStatus,
  pin: PinRef | null,
): { ok: true; node: PeerStatus } | ResolveResult {
  const { eligible, foreign } = tailnetCandidates(status, peer.name);
  if (pin) {
    const own = status.peers.filter((p) =>
      !p.shared && inThisTailnet(p.dnsName, status.magicDnsSuffix)
    );
    const pinned = own.find((p) => p.stableId === pin.stableId);
    if (pinned) return { ok: true, node: pinned };
    if (eligible.length) {
      return refuse(
        "outbound.pin_mismatch",
        `${peer.name} is pinned to node ${pin.stableId} (${pin.source}), but that node is not on ` +
          `this tailnet and the name now means ${eligible.map(describe).join(", ")}. ` +
          (pin.source === "config"
            ? `If ${peer.name} was re-installed, set outbound.peers[].stable_id to its new StableID`
            : `If ${peer.name} was re-installed or re-registered, re-pin it: cmesh peers pin ${peer.name}`),
      );
    }
    if (foreign.length) return foreignRefusal(peer.name, foreign);
    return {
      ok: false,
      message: `${peer.name} (pinned node ${pin.stableId}) is not on this tailnet right now; ` +
        `check that it is logged in to Tailscale`,
    };
  }
  if (eligible.length > 1) {
    return refuse(
      "outbound.name_ambiguous",
      `${peer.name} matches ${eligible.length} nodes on this tailnet: ${
        eligible.map(describe).join("; ")
      }. Use the full MagicDNS name in outbound.peers, or pin one: ` +
        `cmesh peers pin ${peer.name} --stable-id <id>`,
    );
  }
  if (eligible.length === 1) return { ok: true, node: eligible[0] };
  if (foreign.length) return foreignRefusal(peer.name, foreign);
  const known = status.peers.filter((p) => !p.shared && p.dnsName !== "")
    .map((p) => p.dnsName.split(".")[0]).slice(0, 20).join(", ") || "none";
  return {
    ok: false,
    message:
      `${peer.name} is not a peer on this tailnet (peers: ${known}); check the name in outbound.peers`,
  };
}

/** Confirms with whois that `ip` is the node expected (the pin, else the one status named). */
async function confirmWithWhois(
  peer: OutboundPeer,
  ip: string,
  deps: ResolveDeps,
  suffix: string,
  expected: string | null,
): Promise<{ ok: true; identity: PeerIdentity } | ResolveResult> {
  if (!deps.whois) {
    return refuse(
      "outbound.whois_failed",
      `cannot confirm who is at ${ip} (no LocalAPI): nothing was sent to ${peer.name}`,
    );
  }
  const who = await deps.whois(ip, peer.port);
  if (!who.ok) {
    return refuse(
      "outbound.whois_failed",
      `cannot confirm who is at ${ip} before sending to ${peer.name}: ${who.reason}`,
    );
  }
  const id = who.identity;
  if (id.shared || !inThisTailnet(id.dnsName, suffix)) {
    return foreignRefusal(peer.name, [{
      dnsName: id.dnsName,
      stableId: id.stableId,
      addresses: [ip],
    } as PeerStatus]);
  }
  if (id.expired) {
    return refuse(
      "outbound.whois_failed",
      `${peer.name} at ${ip} is node ${id.stableId}, whose key has expired: re-authenticate it`,
    );
  }
  if (expected !== null && id.stableId !== expected) {
    const pinned = deps.pin !== null;
    return refuse(
      pinned ? "outbound.pin_mismatch" : "outbound.whois_mismatch",
      `${ip} is node ${id.stableId} (${
        id.dnsName || id.node
      }) according to whois, but ${peer.name} ` +
        (pinned
          ? `is pinned to node ${expected}. If ${peer.name} was re-installed, re-pin it: ` +
            (deps.pin!.source === "config"
              ? `set outbound.peers[].stable_id`
              : `cmesh peers pin ${peer.name}`)
          : `resolved to node ${expected}: the address changed hands; nothing was sent, try again`),
    );
  }
  return { ok: true, identity: id };
}

/** Resolves a configured peer to a checked destination. */
export async function resolvePeerTarget(
  peer: OutboundPeer,
  deps: ResolveDeps,
): Promise<ResolveResult> {
  const pin = peer.stable_id ? { stableId: peer.stable_id, source: "config" as const } : deps.pin;
  const d = { ...deps, pin };
  let ip: string;
  let online: boolean | null = null;
  let expected: string | null = pin?.stableId ?? null;
  let suffix = "";
  if (peer.address) {
    const literal = normalizeIp(peer.address.replace(/^\[(.*)\]$/, "$1"));
    if (literal === null || !isTailnetIp(literal)) {
      if (pin) {
        return refuse(
          "outbound.whois_failed",
          `${peer.name} is pinned to node ${pin.stableId}, but its address ${peer.address} is ` +
            `outside the tailnet, so whois cannot confirm it: use its tailnet IP, or drop the pin`,
        );
      }
      return {
        ok: true,
        target: {
          address: { name: peer.name, host: peer.address, port: peer.port },
          online: null,
          stableId: null,
          dnsName: null,
          pin: "unverified",
        },
      };
    }
    ip = literal;
    if (deps.status) {
      const st = await deps.status();
      if (!st.ok) {
        return refuse(
          "outbound.whois_failed",
          `cannot confirm who is at ${ip}: ${st.reason}`,
        );
      }
      suffix = st.status.magicDnsSuffix;
    }
  } else {
    if (!deps.status) {
      return {
        ok: false,
        message:
          `peer ${peer.name} has no address and there is no tailnet here; set outbound.peers[].address`,
      };
    }
    const st = await deps.status();
    if (!st.ok) {
      return {
        ok: false,
        message:
          `cannot look up ${peer.name} on the tailnet: ${st.reason}. Start tailscaled, or set outbound.peers[].address for ${peer.name}`,
      };
    }
    suffix = st.status.magicDnsSuffix;
    const picked = pickFromStatus(peer, st.status, pin);
    if (!picked.ok) return picked as ResolveResult;
    const node = (picked as { node: PeerStatus }).node;
    if (node.online === false) {
      return {
        ok: false,
        message:
          `${peer.name} is offline on the tailnet (Tailscale reports it not connected); wake it or try later`,
      };
    }
    const first = node.addresses.find((a) => !a.includes(":")) ?? node.addresses[0];
    if (!first) return { ok: false, message: `${peer.name} has no tailnet address in status` };
    ip = first;
    online = node.online;
    expected = node.stableId;
  }
  const confirmed = await confirmWithWhois(peer, ip, d, suffix, expected);
  if (!confirmed.ok) return confirmed as ResolveResult;
  const id = (confirmed as { identity: PeerIdentity }).identity;
  return {
    ok: true,
    target: {
      address: { name: peer.name, host: ip, port: peer.port },
      online,
      stableId: id.stableId,
      dnsName: id.dnsName || null,
      pin: pin ? pin.source : "first_use",
    },
  };
}
