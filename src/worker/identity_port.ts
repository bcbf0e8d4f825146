/**
 * @module
 * The port through which the sandboxed worker thread learns who is calling: it asks the daemon's
 * main thread for the whois of a connection's own source address, and the main thread tells it
 * when this node's addresses and names change (for the Host check). The main thread holds the
 * tailnet identity (`worker/tailnet_identity.ts`: LocalAPI whois, its cache, the IPN bus), so the
 * worker thread needs no LocalAPI access: a bug in a request handler cannot talk to tailscaled.
 *
 * What crosses the port: an address and a port in, an {@link IdentityOutcome} out (plain data);
 * this node's names out. Requests are bounded (pending count, address length) and time out;
 * every failure is an `unavailable` outcome, which the front door turns into a refusal.
 *
 * @example
 * ```ts
 * import { answerWhois, IdentityPortClient, isWhoisReply, isWhoisRequest } from "./identity_port.ts";
 * import type { IdentityLookup } from "./ports.ts";
 * // worker thread
 * const identity = new IdentityPortClient((m) => self.postMessage(m));
 * self.onmessage = (e) => { if (isWhoisReply(e.data)) identity.deliver(e.data); };
 * await identity.whois("100.64.0.2", 51234);
 * // main thread
 * declare const worker: Worker, tailnet: IdentityLookup;
 * worker.onmessage = async (e: MessageEvent) => {
 *   if (isWhoisRequest(e.data)) worker.postMessage(await answerWhois(e.data, tailnet));
 * };
 * ```
 */
import type { CallerIdentity } from "../policy/types.ts";
import type { SelfStatus } from "../tailscale/status.ts";
import { PendingCalls } from "./pending_calls.ts";
import type { IdentityLookup, IdentityOutcome } from "./ports.ts";

/** Longest address the port forwards (an IPv6 address with a zone fits). */
const MAX_ADDRESS = 128;

/** Worker thread → main thread: who is at `ip:port`? */
export interface WhoisRequest {
  type: "identity.whois";
  id: number;
  ip: string;
  port: number;
}

/** Main thread → worker thread: what the tailnet identity said. */
export interface WhoisReply {
  type: "identity.answer";
  id: number;
  outcome: IdentityOutcome;
}

/** Main thread → worker thread: this node's addresses and names now (null: none known). */
export interface SelfUpdate {
  type: "identity.self";
  self: SelfStatus | null;
}

/** True for a well-formed {@link WhoisRequest}. */
export function isWhoisRequest(m: unknown): m is WhoisRequest {
  const r = m as Partial<WhoisRequest> | null;
  return typeof r === "object" && r !== null && r.type === "identity.whois" &&
    Number.isSafeInteger(r.id) && typeof r.ip === "string" && Number.isSafeInteger(r.port);
}

/** True for a well-formed {@link WhoisReply} (its outcome is checked on delivery). */
export function isWhoisReply(m: unknown): m is WhoisReply {
  const r = m as Partial<WhoisReply> | null;
  return typeof r === "object" && r !== null && r.type === "identity.answer" &&
    Number.isSafeInteger(r.id) && typeof r.outcome === "object" && r.outcome !== null;
}

/** True for a well-formed {@link SelfUpdate}. */
export function isSelfUpdate(m: unknown): m is SelfUpdate {
  const r = m as Partial<SelfUpdate> | null;
  return typeof r === "object" && r !== null && r.type === "identity.self" &&
    (r.self === null || (typeof r.self === "object" && Array.isArray(r.self.addresses)));
}

const unavailable = (reason: string): IdentityOutcome => ({
  ok: false,
  code: "unavailable",
  reason,
});

/** Main thread: answers one request with `lookup` (a throw is an `unavailable` outcome). */
export async function answerWhois(req: WhoisRequest, lookup: IdentityLookup): Promise<WhoisReply> {
  let outcome: IdentityOutcome;
  if (req.ip.length > MAX_ADDRESS || req.port < 0 || req.port > 65535) {
    outcome = { ok: false, code: "bad_response", reason: "the caller's address is malformed" };
  } else {
    try {
      outcome = await lookup.whois(req.ip, req.port);
    } catch (e) {
      outcome = unavailable(`whois failed: ${(e as Error).message}`);
    }
  }
  return { type: "identity.answer", id: req.id, outcome };
}

/** An outcome as the front door may use it: an identity with its fields, or a denial. */
function checkedOutcome(o: IdentityOutcome): IdentityOutcome {
  if (o.ok === true) {
    const id = o.identity as Partial<CallerIdentity> | undefined;
    const valid = typeof id === "object" && id !== null && typeof id.node === "string" &&
      typeof id.dnsName === "string" && typeof id.stableId === "string" &&
      (id.login === null || typeof id.login === "string") && Array.isArray(id.tags) &&
      typeof id.capMap === "object" && id.capMap !== null;
    return valid ? o : unavailable("the daemon's whois answer was malformed");
  }
  return o.ok === false && typeof o.code === "string" && typeof o.reason === "string"
    ? o
    : unavailable("the daemon's whois answer was malformed");
}

/** Limits of {@link IdentityPortClient}. */
export interface IdentityPortOptions {
  /** How long to wait for the main thread. Default 10000 ms (a whois may take its own timeout). */
  timeoutMs?: number;
  /** Most lookups in flight; more are refused at once. Default 256. */
  maxPending?: number;
}

/** Worker thread: an {@link IdentityLookup} that asks the main thread and fails closed. */
export class IdentityPortClient implements IdentityLookup {
  readonly #post: (m: WhoisRequest) => void;
  readonly #calls: PendingCalls<IdentityOutcome>;

  constructor(post: (m: WhoisRequest) => void, opts: IdentityPortOptions = {}) {
    this.#post = post;
    this.#calls = new PendingCalls({
      timeoutMs: opts.timeoutMs ?? 10_000,
      maxPending: opts.maxPending ?? 256,
    });
  }

  /** The whois of `ip:port` through the main thread. Never throws. */
  whois(ip: string, port: number): Promise<IdentityOutcome> {
    return this.#calls.call(
      (id) => this.#post({ type: "identity.whois", id, ip, port }),
      unavailable("the daemon did not answer the identity lookup"),
      unavailable("too many identity lookups in flight; retry"),
    );
  }

  /** Hands a reply from the main thread to its waiting lookup (unknown ids are ignored). */
  deliver(reply: WhoisReply): void {
    this.#calls.deliver(reply.id, checkedOutcome(reply.outcome));
  }

  /** Lookups waiting for an answer. */
  get pending(): number {
    return this.#calls.size;
  }
}

/**
 * Main thread: where the tailnet identity writes this node's names. It keeps the latest (the
 * worker's init carries it) and, once {@link attach}ed, posts every change to the worker thread.
 */
export class SelfRelay {
  #latest: SelfStatus | null;
  #post: ((m: SelfUpdate) => void) | null = null;

  constructor(initial: SelfStatus | null) {
    this.#latest = initial;
  }

  /** The names as last set. */
  get latest(): SelfStatus | null {
    return this.#latest;
  }

  /** Records `self` and posts it to the worker thread once attached. */
  set(self: SelfStatus | null | undefined): void {
    this.#latest = self ?? null;
    this.#post?.({ type: "identity.self", self: this.#latest });
  }

  /** From now on every change is posted with `post`. */
  attach(post: (m: SelfUpdate) => void): void {
    this.#post = post;
  }
}
