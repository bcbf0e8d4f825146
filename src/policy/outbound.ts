/**
 * @module
 * The requester's own policy: may I send this task to that peer? Checked before anything is
 * recorded or dispatched, so an agent cannot delegate to machines, profiles or directories
 * its user did not list in `[[outbound.peers]]`.
 *
 * Order: the peer is listed (`outbound.peer_unknown`, `outbound.peer_ambiguous`) → the
 * peer's entry lists the profile (`outbound.profile`) and the profile is defined in
 * `[profiles]` (`profile.unknown`; "enabled" is not checked: it governs what this node
 * serves, not what it may ask for) → the cwd is a canonical absolute path (`cwd.invalid`)
 * matching one of the entry's `cwd` globs (`outbound.cwd`, case-sensitive: the remote file
 * system is unknown here). The runner, when given, only appears in the reason: the worker
 * decides runners.
 *
 * Peer lookup: the name given equals an entry's `name` or `address` exactly; otherwise it
 * equals one of them ignoring case and a trailing dot (MagicDNS names, IPv6 hex digits).
 * A relaxed match that hits two different entries is refused as ambiguous.
 *
 * @example
 * ```ts
 * import { Config } from "../config/schema.ts";
 * import { outboundDecision } from "./outbound.ts";
 * const config = Config.parse({ outbound: { peers: [{ name: "buildbox", cwd: ["/srv/**"] }] } });
 * outboundDecision({ outbound: config.outbound, profiles: config.profiles, peer: "buildbox",
 *   profile: "query", cwd: "/srv/app" }).allow; // true
 * ```
 */
import type { Config, OutboundPeer } from "../config/schema.ts";
import { normaliseDnsName } from "./caller.ts";
import { type Allow, type Deny, deny, listOrNone } from "./decision.ts";
import { matchAnyPathGlob } from "./glob.ts";
import { parseAbsolutePath } from "./path.ts";

/** What {@link outboundDecision} reads. */
export interface OutboundInput {
  outbound: Pick<Config["outbound"], "peers">;
  profiles: Config["profiles"];
  /** The peer as the agent named it: a configured name, MagicDNS name or tailnet IP. */
  peer: string;
  profile: string;
  cwd: string;
  runner?: string;
}

/** An outbound allow carries the configured peer entry it matched. */
export type OutboundAllow = Allow & { peerIndex: number; peer: OutboundPeer };

/**
 * Decides whether this node may delegate the task (module doc for the order of checks).
 */
export function outboundDecision(input: OutboundInput): OutboundAllow | Deny {
  const peers = input.outbound.peers;
  const found = findOutboundPeer(peers, input.peer);
  const names = peers.map((p) => p.name);
  if (found === "ambiguous") {
    return deny(
      "outbound.peer_ambiguous",
      `peer ${input.peer} matches more than one [[outbound.peers]] entry; use the exact name ` +
        `of one of: ${listOrNone(names)}`,
    );
  }
  if (found === null) {
    return deny(
      "outbound.peer_unknown",
      `peer ${input.peer} is not in [[outbound.peers]]; configured peers: ${listOrNone(names)}`,
      "delegate to a configured peer, or add this one: a [[outbound.peers]] entry in config.toml (`cmesh config path` shows the file; your agent's cmesh_setup_plan tool writes it for you), then restart the daemon (`cmesh service install`, or restart `cmesh daemon`)",
    );
  }
  const { index, entry } = found;
  const id = `outbound.peers[${index}]` as const;
  if (!entry.profiles.includes(input.profile)) {
    return deny(
      "outbound.profile",
      `profile ${input.profile} is not allowed for peer ${entry.name} (${id}); allowed ` +
        `profiles: ${listOrNone(entry.profiles)}`,
      `use one of the allowed profiles, or add "${input.profile}" to ${id}.profiles`,
    );
  }
  if (!Object.hasOwn(input.profiles, input.profile)) {
    return deny(
      "profile.unknown",
      `profile ${input.profile} is not defined in [profiles] on this node; defined: ` +
        `${listOrNone(Object.keys(input.profiles))}`,
    );
  }
  const cwd = parseAbsolutePath(input.cwd);
  if (!cwd.ok) {
    return deny(
      "cwd.invalid",
      `cwd ${JSON.stringify(input.cwd)} ${cwd.problem}; give an absolute path without "." or ` +
        `".." segments`,
    );
  }
  if (!matchAnyPathGlob(entry.cwd, input.cwd)) {
    return deny(
      "outbound.cwd",
      `cwd ${input.cwd} is not allowed for peer ${entry.name} (${id}); allowed cwd patterns: ` +
        `${listOrNone(entry.cwd)}`,
      `use a cwd matching one of the patterns, or add one to ${id}.cwd`,
    );
  }
  const runner = input.runner === undefined ? "" : ` with runner ${input.runner}`;
  return {
    allow: true,
    rule: id,
    reason: `this node may send profile ${input.profile}${runner} tasks in ${input.cwd} to ` +
      `peer ${entry.name} (${id})`,
    peerIndex: index,
    peer: entry,
  };
}

/**
 * The `[[outbound.peers]]` entry a name refers to, matched as {@link outboundDecision} matches
 * it (module doc): its index and entry, `"ambiguous"`, or null.
 *
 * @example
 * ```ts
 * import { Config } from "../config/schema.ts";
 * const config = Config.parse({ outbound: { peers: [{ name: "buildbox", cwd: ["/srv/**"] }] } });
 * findOutboundPeer(config.outbound.peers, "BuildBox."); // { index: 0, entry: { name: "buildbox", … } }
 * ```
 */
export function findOutboundPeer(
  peers: readonly OutboundPeer[],
  wanted: string,
): { index: number; entry: OutboundPeer } | "ambiguous" | null {
  const exact = peers.findIndex((p) => p.name === wanted || p.address === wanted);
  if (exact !== -1) return { index: exact, entry: peers[exact] };
  const norm = normaliseDnsName(wanted);
  if (norm === "") return null;
  const hits = peers
    .map((p, index) => ({ index, entry: p }))
    .filter(({ entry }) =>
      normaliseDnsName(entry.name) === norm ||
      (entry.address !== undefined && normaliseDnsName(entry.address) === norm)
    );
  if (hits.length === 0) return null;
  if (hits.length > 1) return "ambiguous";
  return hits[0];
}
