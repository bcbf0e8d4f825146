/**
 * @module
 * A tiny TTL cache for whois answers on the admission hot path, and {@link CachingWhois}, which
 * puts it in front of a {@link LocalApiClient}.
 *
 * Fail-closed trade-off, stated plainly:
 * - Only **successes** are cached. A failure (404, tailscaled down, timeout) is never
 *   remembered, so recovery is immediate, and an outage costs one LocalAPI round trip (bounded
 *   by its timeout) per connection, not a stale "allow".
 * - A success is trusted for at most `ttlMs` (default 2 s). A node that is removed, re-tagged
 *   or loses a grant can therefore still be admitted as its old self for up to that long. That
 *   window is the price of not asking tailscaled on every request; keep it short.
 * - Only tailnet addresses are cached, keyed by the normalised IP: for them tailscaled ignores
 *   the port, so `ip` fully determines the answer. Loopback sources (userspace-networking) are
 *   resolved through tailscaled's per-connection proxy map, where `127.0.0.1` is a different
 *   caller on every port; caching them by IP would hand one caller another's identity, so they
 *   (and every other non-tailnet address) always go to tailscaled.
 * - Entries are bounded (`maxEntries`, oldest evicted first) and identities are frozen, so a
 *   caller cannot alter what the next caller sees.
 *
 * @example
 * ```ts
 * import { LocalApiClient } from "./localapi.ts";
 * import { CachingWhois } from "./whois_cache.ts";
 * const whois = new CachingWhois(LocalApiClient.create());
 * const r = await whois.whois("100.101.21.37", 50123); // asks tailscaled
 * await whois.whois("100.101.21.37", 50999);           // cached for 2 s
 * ```
 */
import { classifyIp, normalizeIp } from "./addr.ts";
import type { PeerIdentity } from "./identity.ts";
import type { CallOptions, WhoisResult } from "./localapi.ts";

/** Anything that answers whois like {@link LocalApiClient}. */
export interface WhoisSource {
  whois(ip: string, port: number, opts?: CallOptions): Promise<WhoisResult>;
}

/** Cache settings. */
export interface WhoisCacheOptions {
  /** How long a success is reused. Default 2000 ms. */
  ttlMs?: number;
  /** Most entries kept. Default 1024. */
  maxEntries?: number;
  /** Clock in ms (tests). Default `Date.now`. */
  now?: () => number;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** TTL + size bounded map from normalised tailnet IP to a frozen {@link PeerIdentity}. */
export class WhoisCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { identity: PeerIdentity; expiresAt: number }>();

  constructor(opts: WhoisCacheOptions = {}) {
    this.#ttlMs = opts.ttlMs ?? 2000;
    this.#maxEntries = Math.max(1, opts.maxEntries ?? 1024);
    this.#now = opts.now ?? Date.now;
  }

  /** True when answers for `ip` may be cached (a tailnet address; see the module notes). */
  static cacheable(ip: string): boolean {
    return classifyIp(ip) === "tailnet";
  }

  /** The cached identity for `ip` (any spelling), if fresh. */
  get(ip: string): PeerIdentity | undefined {
    const key = normalizeIp(ip);
    if (key === null) return undefined;
    const hit = this.#entries.get(key);
    if (!hit) return undefined;
    if (this.#now() >= hit.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    return hit.identity;
  }

  /** Remember a successful answer; ignored for non-cacheable addresses or a zero TTL. */
  set(ip: string, identity: PeerIdentity): void {
    const key = normalizeIp(ip);
    if (key === null || !WhoisCache.cacheable(key) || this.#ttlMs <= 0) return;
    this.#entries.delete(key);
    // Uniform TTL: insertion order is expiry order, so the first key is the oldest.
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    this.#entries.set(key, {
      identity: deepFreeze(identity),
      expiresAt: this.#now() + this.#ttlMs,
    });
  }

  /** Forget one address. */
  delete(ip: string): void {
    const key = normalizeIp(ip);
    if (key !== null) this.#entries.delete(key);
  }

  /** Forget everything (e.g. after tailscaled restarts or the netmap changes). */
  clear(): void {
    this.#entries.clear();
  }

  /** Entries held, including expired ones not yet swept. */
  get size(): number {
    return this.#entries.size;
  }
}

/**
 * whois through a {@link WhoisCache}: cache hits skip tailscaled; concurrent misses for the same
 * tailnet IP share one LocalAPI call. Results are frozen.
 *
 * {@link invalidate} (called when tailscaled's IPN bus reports a change) forgets every entry
 * *and* every lookup in flight, so an answer that started before the change can neither be
 * reused nor cached after it. {@link setCaching}(false) turns the cache off (every call asks
 * tailscaled), for while the bus is down and changes would go unnoticed.
 */
export class CachingWhois implements WhoisSource {
  readonly #inflight = new Map<string, Promise<WhoisResult>>();
  #generation = 0;
  #caching = true;

  constructor(
    private readonly source: WhoisSource,
    readonly cache: WhoisCache = new WhoisCache(),
  ) {}

  /** Forget every cached answer and every lookup in flight. */
  invalidate(): void {
    this.#generation++;
    this.#inflight.clear();
    this.cache.clear();
  }

  /** Turns caching on or off (off also forgets everything). */
  setCaching(on: boolean): void {
    if (!on) this.invalidate();
    this.#caching = on;
  }

  /** Whether answers are currently cached. */
  get caching(): boolean {
    return this.#caching;
  }

  async whois(ip: string, port: number, opts: CallOptions = {}): Promise<WhoisResult> {
    const key = normalizeIp(ip);
    if (key === null || !WhoisCache.cacheable(key) || !this.#caching) {
      return deepFreeze(await this.source.whois(ip, port, opts));
    }
    const hit = this.cache.get(key);
    if (hit) return { ok: true, identity: hit };
    const pending = this.#inflight.get(key);
    if (pending) return pending;
    // The shared lookup ignores the caller's signal: one caller giving up must not fail the
    // others. The client's own timeout still bounds it.
    const generation = this.#generation;
    const lookup = this.source.whois(key, port, { timeoutMs: opts.timeoutMs }).then((r) => {
      if (r.ok && generation === this.#generation && this.#caching) {
        this.cache.set(key, r.identity);
      }
      return deepFreeze(r);
    }).finally(() => {
      if (this.#inflight.get(key) === lookup) this.#inflight.delete(key);
    });
    this.#inflight.set(key, lookup);
    return lookup;
  }
}
