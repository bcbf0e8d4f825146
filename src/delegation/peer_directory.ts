/**
 * @module
 * The requester's view of its configured peers: resolving a name to a checked destination
 * (`peer_resolve.ts`) with the pin in force, pinning a peer on its first successful contact
 * (trust on first use, audited as `peer.pinned`), and the `GET /v1/peers` listing with each
 * peer's pin.
 *
 * @example
 * ```ts
 * import { PeerDirectory, type PeerDirectoryDeps } from "./peer_directory.ts";
 * declare const deps: Omit<PeerDirectoryDeps, "self">; // the store, config peers, LocalAPI
 * const peers = new PeerDirectory({ ...deps, self: "laptop" });
 * const r = await peers.resolve("buildbox");
 * if (r.ok) peers.recordContact("buildbox", r.target);
 * ```
 */
import { findOutboundPeer } from "../policy/outbound.ts";
import { AllowsMe, type ControlPeer } from "../protocol/control.ts";
import { issuesLine } from "../util/zod_issues.ts";
import type { OutboundPeer } from "../config/schema.ts";
import type { Store } from "../store/db.ts";
import { getPin, pinIfAbsent } from "../store/pins.ts";
import { PeerClient } from "./peer_client.ts";
import {
  type PeerTarget,
  type PinRef,
  resolvePeerTarget,
  type ResolveResult,
  type StatusSource,
  type WhoisSource,
} from "./peer_resolve.ts";

/** What the directory needs. */
export interface PeerDirectoryDeps {
  store: Store;
  /** This node's name (the actor of pin records). */
  self: string;
  /** Every configured peer, in config order. */
  peers: OutboundPeer[];
  status: StatusSource | null;
  whois: WhoisSource | null;
  /** How long a whois-confirmed resolution is reused (default 2000 ms; see {@link PeerDirectory.setCaching}). */
  resolutionTtlMs?: number;
  /** Clock in ms (tests). Default `Date.now`. */
  now?: () => number;
}

/** A whois-confirmed resolution kept for reuse, with the pin it was checked against. */
interface CachedResolution {
  result: ResolveResult & { ok: true };
  pinnedTo: string | null;
  at: number;
}

/** A peer's pin as `cmesh peers` shows it. */
export interface PinView {
  stable_id: string;
  source: PinRef["source"];
  pinned_at: string | null;
  dns_name: string | null;
}

/** The requester's configured peers, resolved and pinned. */
export class PeerDirectory {
  readonly #resolved = new Map<string, CachedResolution>();
  #caching = false;
  /** Bumped by every change tailscaled reports: an answer asked for before it is not kept. */
  #generation = 0;

  constructor(private readonly deps: PeerDirectoryDeps) {}

  /**
   * Turns reuse of resolutions on or off. Resolving a name asks tailscaled twice (status, then
   * whois of the address), so a whois-confirmed answer is reused for `resolutionTtlMs`, on the
   * same terms as the worker's whois cache: only while tailscaled's IPN bus is being watched
   * (it says when the netmap changed: {@link forget}), never a failure, and never past a pin
   * that changed meanwhile. Off until the daemon's bus watcher says it is up.
   */
  setCaching(on: boolean): void {
    this.#caching = on;
    this.forget();
  }

  /** Forgets every reused resolution (tailscaled reported a change). */
  forget(): void {
    this.#generation++;
    this.#resolved.clear();
  }

  /** The pin in force for a configured peer: config.toml's, else the stored one. */
  pinOf(peer: OutboundPeer): PinView | null {
    if (peer.stable_id) {
      return { stable_id: peer.stable_id, source: "config", pinned_at: null, dns_name: null };
    }
    const p = getPin(this.deps.store, peer.name);
    return p
      ? { stable_id: p.stable_id, source: p.source, pinned_at: p.pinned_at, dns_name: p.dns_name }
      : null;
  }

  async #resolvePeer(peer: OutboundPeer): Promise<ResolveResult> {
    const pin = this.pinOf(peer);
    return await resolvePeerTarget(peer, {
      status: this.deps.status,
      whois: this.deps.whois,
      pin: pin ? { stableId: pin.stable_id, source: pin.source } : null,
    });
  }

  /** The configured peer a name refers to, as the outbound policy matches it, or null. */
  #find(name: string): OutboundPeer | null {
    const found = findOutboundPeer(this.deps.peers, name);
    return found === null || found === "ambiguous" ? null : found.entry;
  }

  /** Resolves a peer name to a checked destination (see `peer_resolve.ts`). */
  async resolve(name: string): Promise<ResolveResult> {
    const peer = this.#find(name);
    if (!peer) return { ok: false, message: `peer ${name} is not in outbound.peers` };
    const now = (this.deps.now ?? Date.now)();
    const pinnedTo = this.pinOf(peer)?.stable_id ?? null;
    const hit = this.#resolved.get(peer.name);
    if (
      this.#caching && hit && hit.pinnedTo === pinnedTo &&
      now - hit.at < (this.deps.resolutionTtlMs ?? 2000)
    ) return hit.result;
    const generation = this.#generation;
    const r = await this.#resolvePeer(peer);
    // Only answers whois confirmed (a StableID) are kept; a bus change while asking voids them.
    if (this.#caching && generation === this.#generation && r.ok && r.target.stableId !== null) {
      this.#resolved.set(peer.name, { result: r, pinnedTo, at: now });
    }
    return r;
  }

  /**
   * After the peer's cmesh answered at `target`: pin it if it was not pinned yet (first
   * contact). Returns true when a pin was recorded.
   */
  recordContact(name: string, target: PeerTarget): boolean {
    if (target.pin !== "first_use" || target.stableId === null) return false;
    const peer = this.#find(name);
    if (!peer) return false;
    return pinIfAbsent(
      this.deps.store,
      {
        name: peer.name,
        stable_id: target.stableId,
        dns_name: target.dnsName,
        source: "first_contact",
      },
      { node: this.deps.self },
      { address: `${target.address.host}:${target.address.port}` },
    ).created;
  }

  /** `GET /v1/peers`: each configured peer, its pin, online state and what it allows me. */
  list(): Promise<ControlPeer[]> {
    return Promise.all(this.deps.peers.map(async (p) => {
      const pin = this.pinOf(p);
      const base = { name: p.name, profiles_i_send: p.profiles, cwd_i_send: p.cwd, pin };
      const r = await this.#resolvePeer(p);
      if (!r.ok) {
        return { ...base, online: false, error: r.message, ...(r.rule ? { rule: r.rule } : {}) };
      }
      const t = r.target;
      const hello = await new PeerClient(t.address, 3000).hello();
      const allows = hello.ok ? AllowsMe.safeParse(hello.value.allowed) : null;
      return {
        ...base,
        address: `${t.address.host}:${t.address.port}`,
        stable_id: t.stableId,
        identity: t.pin === "unverified" ? "unverified" : "verified",
        // Without tailnet status, a peer that answers at all (even "connection refused") is online.
        online: t.online ?? (hello.ok || hello.failure.kind !== "unreachable"),
        cmesh: hello.ok,
        ...(hello.ok ? { peer_version: String(hello.value.cmesh) } : {}),
        ...(!hello.ok
          ? { error: hello.failure.message }
          : allows?.success
          ? { allows_me: allows.data }
          : {
            error: `its /v1/hello does not say what it allows in a form this cmesh reads (${
              issuesLine(allows?.error.issues ?? [], 3)
            })`,
          }),
      };
    }));
  }
}
