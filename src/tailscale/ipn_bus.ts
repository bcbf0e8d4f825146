/**
 * @module
 * A subscriber to tailscaled's IPN bus (`GET /localapi/v0/watch-ipn-bus?mask=N`): a streamed
 * response of JSON `ipn.Notify` objects, one per line (Go's `json.Encoder`, flushed per
 * message). cmesh uses it to learn *when* identity may have changed (a re-login, a new
 * netmap, a peer removed, re-keyed or re-tagged) so it can re-read status and forget cached
 * whois answers at once, instead of trusting them for their TTL.
 *
 * Mask: `NotifyInitialState` (2, so the first message arrives at once and proves the
 * subscription works) | `NotifyPeerChanges` (4096: `PeersChanged`/`PeersRemoved`; since
 * tailscale 1.9x Linux tailscaled no longer puts `NetMap` on the bus) | `NotifyPeerPatches`
 * (32768: narrow per-field patches arrive as `PeerChangedPatch`, most of which, like
 * `Online`/`LastSeen`, say nothing about identity and are ignored).
 *
 * Bounded: one line may be at most `maxLineBytes`; a longer one, a malformed one, an
 * `ErrMessage` (tailscaled drops watchers that fall behind) or the end of the stream closes
 * the connection and the watcher reconnects with backoff. While it is not connected, callers
 * are told (`onConnected(false)`) so they can fail closed.
 *
 * @example
 * ```ts
 * import { IpnBusWatcher } from "./ipn_bus.ts";
 * import { LocalApiClient } from "./localapi.ts";
 * const bus = new IpnBusWatcher(LocalApiClient.create().busSource()!, {
 *   onChange: (why) => console.log("re-read status:", why),
 *   onConnected: (up, why) => console.log(up ? "bus up" : `bus down: ${why}`),
 * });
 * await bus.start();
 * ```
 */
import type { LocalApiStream } from "./endpoint.ts";

/** `NotifyInitialState | NotifyPeerChanges | NotifyPeerPatches`. */
export const IPN_BUS_MASK = 2 | 4096 | 32768;
/** The LocalAPI target the watcher opens. */
export const IPN_BUS_TARGET = `/localapi/v0/watch-ipn-bus?mask=${IPN_BUS_MASK}`;

/** What can open the bus (a LocalAPI transport that streams). */
export interface IpnBusSource {
  stream(target: string, opts?: { timeoutMs?: number }): Promise<LocalApiStream>;
}

/** Callbacks of {@link IpnBusWatcher}. */
export interface IpnBusEvents {
  /** Re-read state now: the bus (re)connected, or a notification may change identity. */
  onChange(reason: string): void;
  /** The subscription came up or went down (with why). */
  onConnected(connected: boolean, reason: string): void;
}

/** Limits and timings of {@link IpnBusWatcher}. */
export interface IpnBusOptions {
  /** Longest accepted notification line. Default 16 MiB (a full peer list on a big tailnet). */
  maxLineBytes?: number;
  /** Connect + response head deadline. Default 3000 ms. */
  connectTimeoutMs?: number;
  /** First reconnect delay, doubled per failure. Default 250 ms. */
  minBackoffMs?: number;
  /** Longest reconnect delay. Default 5000 ms. */
  maxBackoffMs?: number;
}

/** `PeerChangedPatch` fields that say nothing about who a node is. */
const HARMLESS_PATCH_KEYS = new Set([
  "NodeID",
  "DERPRegion",
  "Endpoints",
  "Online",
  "LastSeen",
  "Cap",
]);
/** Notify fields that may change this node's or a peer's identity. */
const IDENTITY_KEYS = [
  "State",
  "Prefs",
  "NetMap",
  "SelfChange",
  "LoginFinished",
  "PeersChanged",
  "PeersRemoved",
  "InitialStatus",
];

/**
 * Classifies one notification. `error`: tailscaled says the session is over (`ErrMessage`) or
 * the message is not an object; `identity`: re-read state and forget cached whois answers;
 * `ignore`: nothing identity-related (engine stats, health, online/last-seen patches).
 *
 * @example
 * ```ts
 * classifyNotify({ PeersRemoved: [7] });                      // "identity"
 * classifyNotify({ PeerChangedPatch: [{ NodeID: 7, Online: true }] }); // "ignore"
 * ```
 */
export function classifyNotify(n: unknown): "error" | "identity" | "ignore" {
  if (typeof n !== "object" || n === null || Array.isArray(n)) return "error";
  const o = n as Record<string, unknown>;
  if (o.ErrMessage !== undefined && o.ErrMessage !== null) return "error";
  if (IDENTITY_KEYS.some((k) => o[k] !== undefined && o[k] !== null)) return "identity";
  const patches = o.PeerChangedPatch;
  if (Array.isArray(patches)) {
    for (const p of patches) {
      if (typeof p !== "object" || p === null) return "identity";
      if (Object.keys(p).some((k) => !HARMLESS_PATCH_KEYS.has(k))) return "identity";
    }
  }
  return "ignore";
}

/** Splits a byte stream into lines, refusing any line longer than `max`. */
async function* lines(body: AsyncIterable<Uint8Array>, max: number): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let parts: Uint8Array[] = [];
  let size = 0;
  for await (const piece of body) {
    let from = 0;
    for (;;) {
      const nl = piece.indexOf(0x0a, from);
      const end = nl === -1 ? piece.length : nl;
      size += end - from;
      if (size > max) throw new Error(`a notification is longer than ${max} bytes`);
      parts.push(piece.subarray(from, end));
      if (nl === -1) break;
      const line = new Uint8Array(size);
      let at = 0;
      for (const p of parts) {
        line.set(p, at);
        at += p.length;
      }
      parts = [];
      size = 0;
      yield decoder.decode(line);
      from = nl + 1;
    }
  }
}

/** Keeps one IPN bus subscription open, reconnecting with backoff, until {@link stop}. */
export class IpnBusWatcher {
  readonly #source: IpnBusSource;
  readonly #events: IpnBusEvents;
  readonly #maxLine: number;
  readonly #connectTimeoutMs: number;
  readonly #minBackoff: number;
  readonly #maxBackoff: number;
  #stopped = false;
  #connected = false;
  #current: LocalApiStream | null = null;
  #wake: (() => void) | null = null;
  #firstOutcome: ((up: boolean) => void) | null = null;
  #loop: Promise<void> | null = null;

  constructor(source: IpnBusSource, events: IpnBusEvents, opts: IpnBusOptions = {}) {
    this.#source = source;
    this.#events = events;
    this.#maxLine = opts.maxLineBytes ?? 16 * 1024 * 1024;
    this.#connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
    this.#minBackoff = opts.minBackoffMs ?? 250;
    this.#maxBackoff = opts.maxBackoffMs ?? 5000;
  }

  /** True while subscribed (after the first message of the current connection). */
  get connected(): boolean {
    return this.#connected;
  }

  /**
   * Starts watching. Resolves `true` once the first notification arrived (and `onChange` ran),
   * `false` when the first attempt failed or stayed silent for twice the connect timeout (the
   * watcher keeps trying in the background).
   */
  start(): Promise<boolean> {
    if (this.#loop) return Promise.resolve(this.#connected);
    const first = new Promise<boolean>((resolve) => (this.#firstOutcome = resolve));
    // A stream that opens but stays silent must not hold the caller (e.g. the worker's start).
    const timer = setTimeout(() => this.#settleFirst(false), this.#connectTimeoutMs * 2);
    this.#loop = this.#run();
    return first.finally(() => clearTimeout(timer));
  }

  /** Stops watching and closes the connection. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#current?.close();
    this.#wake?.();
    await this.#loop;
  }

  #settleFirst(up: boolean): void {
    this.#firstOutcome?.(up);
    this.#firstOutcome = null;
  }

  #down(reason: string): void {
    if (this.#connected) {
      this.#connected = false;
      this.#events.onConnected(false, reason);
    }
  }

  async #run(): Promise<void> {
    let backoff = this.#minBackoff;
    while (!this.#stopped) {
      let reason = "the IPN bus stream ended";
      try {
        const s = await this.#source.stream(IPN_BUS_TARGET, { timeoutMs: this.#connectTimeoutMs });
        this.#current = s;
        if (this.#stopped) break;
        if (s.status !== 200) throw new Error(`watch-ipn-bus answered HTTP ${s.status}`);
        for await (const line of lines(s.body, this.#maxLine)) {
          if (line.trim() === "") continue;
          let n: unknown;
          try {
            n = JSON.parse(line);
          } catch {
            throw new Error("watch-ipn-bus sent a line that is not JSON");
          }
          const kind = classifyNotify(n);
          if (kind === "error") {
            const said = (n as { ErrMessage?: unknown })?.ErrMessage;
            throw new Error(`tailscaled ended the IPN bus session: ${String(said).slice(0, 200)}`);
          }
          if (!this.#connected) {
            this.#connected = true;
            backoff = this.#minBackoff;
            this.#events.onConnected(true, "subscribed");
            this.#events.onChange("the IPN bus (re)connected");
            this.#settleFirst(true);
          } else if (kind === "identity") {
            this.#events.onChange("tailscaled reported a change");
          }
        }
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err);
      } finally {
        this.#current?.close();
        this.#current = null;
      }
      this.#down(reason);
      this.#settleFirst(false);
      if (this.#stopped) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, backoff);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = null;
      backoff = Math.min(backoff * 2, this.#maxBackoff);
    }
    this.#down("stopped");
    this.#settleFirst(false);
  }
}
