/**
 * @module
 * `LocalApiClient`: whois and status against tailscaled's LocalAPI, failing closed. Every
 * outcome other than a 200 with a well-formed body is `{ok: false, code, reason}`; nothing here
 * throws for LocalAPI trouble. `reason` says what happened and what to check, and is safe to log
 * (tailscaled's error text is quoted, trimmed and stripped of control characters).
 *
 * | outcome | code |
 * | --- | --- |
 * | 404 (`no match for IP:port`; also whenever tailscaled is logged out/starting) | `not_found` |
 * | 401 / 403 (no read access, bad password, bad Host, other Windows user) | `denied` |
 * | socket missing/refused, timeout, 5xx, connection dropped | `unavailable` |
 * | other status, malformed HTTP/JSON, unexpected shape, oversize body | `bad_response` |
 *
 * @example
 * ```ts
 * import { LocalApiClient } from "./localapi.ts";
 * const client = LocalApiClient.create({ socket: "/var/run/tailscale/tailscaled.sock" });
 * const who = await client.whois("100.101.21.37", 50123);
 * if (!who.ok) console.error(`deny: ${who.code}: ${who.reason}`);
 * ```
 */
import type { Config } from "../config/schema.ts";
import { formatWhoisAddr, normalizeIp } from "./addr.ts";
import type { Http1Response } from "./http1.ts";
import { identityFromWhois, type PeerIdentity } from "./identity.ts";
import type { IpnBusSource } from "./ipn_bus.ts";
import { statusFromWire, type TailnetStatus } from "./status.ts";
import {
  createLocalApiTransport,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_TIMEOUT_MS,
  type LocalApiTransport,
  LocalApiTransportError,
  type LocalApiTransportOptions,
} from "./transport.ts";

/** Why a LocalAPI call gave no usable answer. */
export type LocalApiFailureCode = "not_found" | "unavailable" | "bad_response" | "denied";

/** A failed LocalAPI call. */
export interface LocalApiFailure {
  ok: false;
  code: LocalApiFailureCode;
  /** What happened and what to check. */
  reason: string;
}

/** Result of {@link LocalApiClient.whois}. */
export type WhoisResult = { ok: true; identity: PeerIdentity } | LocalApiFailure;

/** Result of {@link LocalApiClient.status}. */
export type StatusResult = ({ ok: true } & TailnetStatus) | LocalApiFailure;

/** Client settings. */
export interface LocalApiClientOptions {
  /** Per-request deadline. Default 3000 ms. */
  timeoutMs?: number;
  /** Body limit for whois. Default 4 MiB. */
  maxWhoisBytes?: number;
  /** Body limit for status (grows with tailnet size, ~1.5 KiB per peer). Default 16 MiB. */
  maxStatusBytes?: number;
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Printable, bounded excerpt of a response body for a reason string. */
export function bodyExcerpt(body: Uint8Array, max = 200): string {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(body.subarray(0, max * 4));
  // deno-lint-ignore no-control-regex
  const clean = text.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** Map a non-200 LocalAPI answer to a failure. */
function failureForStatus(what: string, res: Http1Response, where: string): LocalApiFailure {
  const said = JSON.stringify(bodyExcerpt(res.body));
  const s = res.status;
  if (s === 404) {
    return {
      ok: false,
      code: "not_found",
      reason: `${what}: tailscaled has no match (404 ${said}): the caller is not a node ` +
        `tailscaled knows, or tailscaled is logged out or not Running`,
    };
  }
  if (s === 401 || s === 403) {
    return {
      ok: false,
      code: "denied",
      reason:
        `${what}: tailscaled LocalAPI at ${where} refused the request (${s} ${said}): check ` +
        `that the cmesh user may read the LocalAPI (and the token, for a TCP LocalAPI)`,
    };
  }
  if (s >= 500) {
    return {
      ok: false,
      code: "unavailable",
      reason: `${what}: tailscaled LocalAPI at ${where} failed (${s} ${said})`,
    };
  }
  return {
    ok: false,
    code: "bad_response",
    reason: `${what}: tailscaled LocalAPI at ${where} answered ${s} ${said}`,
  };
}

/** Parse a 200 body as JSON, or say why not. */
function parseJsonBody(
  what: string,
  res: Http1Response,
): { ok: true; value: unknown } | LocalApiFailure {
  try {
    return {
      ok: true,
      value: JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(res.body)),
    };
  } catch (err) {
    return {
      ok: false,
      code: "bad_response",
      reason: `${what}: tailscaled answered 200 with malformed JSON (${
        err instanceof Error ? err.message : String(err)
      }): ${JSON.stringify(bodyExcerpt(res.body, 80))}`,
    };
  }
}

/** whois and status over a {@link LocalApiTransport}. */
export class LocalApiClient {
  readonly #transport: LocalApiTransport;
  readonly #timeoutMs: number;
  readonly #maxWhoisBytes: number;
  readonly #maxStatusBytes: number;

  constructor(transport: LocalApiTransport, opts: LocalApiClientOptions = {}) {
    this.#transport = transport;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#maxWhoisBytes = opts.maxWhoisBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#maxStatusBytes = opts.maxStatusBytes ?? 16 * 1024 * 1024;
  }

  /**
   * A client for this machine's tailscaled (see `createLocalApiTransport` for the rules).
   *
   * @throws {TypeError} for an unacceptable `url`.
   */
  static create(opts: LocalApiTransportOptions & LocalApiClientOptions = {}): LocalApiClient {
    return new LocalApiClient(createLocalApiTransport(opts), opts);
  }

  /**
   * A client from config.toml's `[tailscale]` section (the one mapping of its keys).
   *
   * @example
   * ```ts
   * import { Config } from "../config/schema.ts";
   * const client = LocalApiClient.fromConfig(Config.parse({}).tailscale);
   * ```
   */
  static fromConfig(ts: Config["tailscale"]): LocalApiClient {
    return LocalApiClient.create({
      socket: ts.socket,
      url: ts.localapi_url,
      token: ts.localapi_token,
      transport: ts.transport,
      cli: ts.cli_path,
      timeoutMs: ts.timeout_ms,
    });
  }

  /**
   * What opens tailscaled's IPN bus through this client's transport (`ipn_bus.ts`), or null
   * where the transport cannot stream (the `tailscale` CLI).
   */
  busSource(): IpnBusSource | null {
    const t = this.#transport;
    if (!t.stream) return null;
    return { stream: (target, opts) => t.stream!(target, opts) };
  }

  /** Where requests go, for logs and `cmesh doctor`. */
  describe(): string {
    return this.#transport.describe();
  }

  async #get(
    target: string,
    maxBodyBytes: number,
    opts: CallOptions,
  ): Promise<{ ok: true; res: Http1Response } | LocalApiFailure> {
    try {
      const res = await this.#transport.get(target, {
        timeoutMs: opts.timeoutMs ?? this.#timeoutMs,
        maxBodyBytes,
        signal: opts.signal,
      });
      return { ok: true, res };
    } catch (err) {
      if (err instanceof LocalApiTransportError) {
        return { ok: false, code: err.code, reason: err.message };
      }
      return {
        ok: false,
        code: "unavailable",
        reason: `LocalAPI request failed: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
  }

  /**
   * Who is connecting from `ip:port`. The IP is normalised (un-mapped) before asking, because
   * tailscaled < 1.102 answers 404 for `::ffff:` forms. The port matters only for loopback
   * sources in userspace-networking mode (tailscaled's proxy map), so always pass the real one.
   *
   * @example
   * ```ts
   * const client = LocalApiClient.create();
   * const r = await client.whois("::ffff:100.64.0.2", 41641);
   * if (r.ok) console.log(r.identity.login ?? r.identity.tags.join(","));
   * ```
   */
  async whois(ip: string, port: number, opts: CallOptions = {}): Promise<WhoisResult> {
    const normalized = normalizeIp(ip);
    if (normalized === null || !Number.isInteger(port) || port < 0 || port > 65535) {
      // Nothing can be attributed to a non-address; deny like an unknown caller.
      return {
        ok: false,
        code: "not_found",
        reason: `whois: not an IP address and port: ${
          JSON.stringify(`${ip}`).slice(0, 80)
        } ${port}`,
      };
    }
    const addr = formatWhoisAddr(normalized, port);
    const what = `whois ${addr}`;
    const got = await this.#get(
      `/localapi/v0/whois?addr=${encodeURIComponent(addr)}`,
      this.#maxWhoisBytes,
      opts,
    );
    if (!got.ok) return { ...got, reason: `${what}: ${got.reason}` };
    if (got.res.status !== 200) return failureForStatus(what, got.res, this.describe());
    const json = parseJsonBody(what, got.res);
    if (!json.ok) return json;
    const mapped = identityFromWhois(json.value);
    if (!mapped.ok) return { ok: false, code: "bad_response", reason: `${what}: ${mapped.reason}` };
    return { ok: true, identity: mapped.identity };
  }

  /**
   * tailscaled's view of this node and its peers (`peers: false` asks for self only, which is
   * cheap on big tailnets).
   */
  async status(opts: CallOptions & { peers?: boolean } = {}): Promise<StatusResult> {
    const target = opts.peers === false ? "/localapi/v0/status?peers=false" : "/localapi/v0/status";
    const what = "status";
    const got = await this.#get(target, this.#maxStatusBytes, opts);
    if (!got.ok) return { ...got, reason: `${what}: ${got.reason}` };
    if (got.res.status !== 200) return failureForStatus(what, got.res, this.describe());
    const json = parseJsonBody(what, got.res);
    if (!json.ok) return json;
    const mapped = statusFromWire(json.value);
    if (!mapped.ok) return { ok: false, code: "bad_response", reason: `${what}: ${mapped.reason}` };
    return { ok: true, ...mapped.status };
  }
}
