/**
 * @module
 * The worker's real identity source, held by the daemon's main thread (the worker thread asks it
 * through `identity_port.ts` and has no LocalAPI access): LocalAPI whois (with a 2 s success-only
 * cache), plus the identity rules policy does not see: a node whose key expired, or a node
 * shared in from another tailnet, is refused (fail closed), and so is this node calling itself by
 * accident of routing.
 *
 * Freshness: tailscaled's IPN bus (`tailscale/ipn_bus.ts`) says when identity may have
 * changed (re-login, new netmap, a peer removed, re-keyed, re-tagged). Then this node's
 * StableID, addresses and MagicDNS names are re-read from status (for the own-node check and
 * the worker's Host check) and every cached or in-flight whois answer is forgotten. While the
 * bus is down, nothing is cached (every request asks tailscaled) and status is re-read on
 * every reconnect attempt. Where the transport cannot stream (the `tailscale` CLI on
 * Windows) the cache keeps its 2 s window and status is re-read every 10 s.
 */
import type { Config } from "../config/schema.ts";
import { IpnBusWatcher } from "../tailscale/ipn_bus.ts";
import { LocalApiClient } from "../tailscale/localapi.ts";
import type { SelfStatus } from "../tailscale/status.ts";
import { CachingWhois, WhoisCache } from "../tailscale/whois_cache.ts";
import { logger } from "../util/log.ts";
import type { IdentityLookup, IdentityOutcome } from "./ports.ts";

const log = logger("worker");
/** Own StableIDs remembered (a re-login or profile switch adds one). */
const MAX_SELF_IDS = 16;
/** Status re-read period where the bus cannot be watched. */
const POLL_MS = 10_000;

/** Where this node's addresses and names go when they change (the worker's Host check). */
export interface SelfSink {
  set(self: SelfStatus | null): void;
}

/** What else in the daemon follows the IPN bus through {@link TailnetIdentity.follow}. */
export interface BusFollower {
  /** Identity may have changed (a new netmap, a peer removed, re-keyed, re-tagged). */
  onChange(): void;
  /** The bus is (again) watched, or it is down: cache only while it is up. */
  onConnected(up: boolean): void;
}

/** Whois-backed identity that follows tailscaled's changes. */
export class TailnetIdentity {
  readonly #client: LocalApiClient;
  readonly #whois: CachingWhois;
  readonly #hosts: SelfSink | null;
  readonly #selfIds = new Set<string>();
  readonly #bus: IpnBusWatcher | null;
  #refreshing: Promise<void> | null = null;
  #again = false;
  #poll: ReturnType<typeof setInterval> | null = null;
  readonly #followers: BusFollower[] = [];
  #busUp = false;

  constructor(
    ts: Config["tailscale"],
    initial: { self: SelfStatus | null },
    hosts: SelfSink | null,
    opts: { client?: LocalApiClient; whoisTtlMs?: number } = {},
  ) {
    const client = opts.client ?? LocalApiClient.fromConfig(ts);
    this.#client = client;
    this.#whois = new CachingWhois(client, new WhoisCache({ ttlMs: opts.whoisTtlMs }));
    this.#hosts = hosts;
    if (initial.self?.stableId) this.#selfIds.add(initial.self.stableId);
    hosts?.set(initial.self);
    const source = client.busSource();
    this.#bus = source
      ? new IpnBusWatcher(source, {
        onChange: () => {
          this.#whois.invalidate();
          this.refresh();
          for (const f of this.#followers) f.onChange();
        },
        onConnected: (up, why) => {
          this.#busUp = up;
          this.#whois.setCaching(up);
          for (const f of this.#followers) f.onConnected(up);
          if (!up) {
            log.warn("tailscaled IPN bus down ({why}): whois answers are not cached", { why });
            this.refresh();
          }
        },
      })
      : null;
    // Until the bus has spoken, changes would go unnoticed: do not cache.
    if (this.#bus) this.#whois.setCaching(false);
  }

  /**
   * Tells `follower` what the IPN bus says from now on (starting with whether it is up now), so
   * the daemon keeps one bus connection for everything that must follow it. Where the transport
   * cannot stream, `follower` hears nothing (and should not cache).
   */
  follow(follower: BusFollower): void {
    this.#followers.push(follower);
    if (this.#bus) follower.onConnected(this.#busUp);
  }

  /** Subscribes to the IPN bus (waits for its first message, or its first failure). */
  async start(): Promise<void> {
    if (this.#bus) {
      const up = await this.#bus.start();
      if (up) await this.#refreshing;
      return;
    }
    this.#poll = setInterval(() => this.refresh(), POLL_MS);
  }

  /** Stops watching. */
  async stop(): Promise<void> {
    if (this.#poll !== null) clearInterval(this.#poll);
    await this.#bus?.stop();
    await this.#refreshing;
  }

  /** Re-reads this node's StableID, addresses and names (coalesced; failures keep the last). */
  refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#again = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      do {
        this.#again = false;
        const st = await this.#client.status({ peers: false });
        if (!st.ok) {
          log.warn("cannot re-read tailscaled status: {reason}", { reason: st.reason });
          continue;
        }
        if (st.self) {
          if (!this.#selfIds.has(st.self.stableId)) {
            if (this.#selfIds.size >= MAX_SELF_IDS) {
              this.#selfIds.delete(this.#selfIds.values().next().value as string);
            }
            this.#selfIds.add(st.self.stableId);
            if (this.#selfIds.size > 1) {
              log.info("this node's StableID is now {id}", { id: st.self.stableId });
            }
          }
        }
        this.#hosts?.set(st.self);
      } while (this.#again);
    })().finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  /** The {@link IdentityLookup} the worker's guards use. */
  readonly lookup: IdentityLookup = {
    whois: async (ip: string, port: number): Promise<IdentityOutcome> => {
      const r = await this.#whois.whois(ip, port);
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
      if (this.#selfIds.has(id.stableId)) {
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
