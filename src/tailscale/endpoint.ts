/**
 * @module
 * One LocalAPI endpoint (a unix socket or a loopback TCP port) and one bounded GET against it:
 * the request every transport in `transport.ts` ends up making, and the errors it reports.
 *
 * The request is origin-form `GET /localapi/v0/...` with `Host: local-tailscaled.sock` (the
 * only host tailscaled's `validHost` accepts without a password), no `Origin`/`Referer`
 * (tailscaled rejects them with 403), `Connection: close`, an overall timeout and a bounded
 * body. It is written by hand over `Deno.connect` (`http1.ts`) because `fetch` through
 * `Deno.createHttpClient({proxy:{transport:"unix"}})` sends an absolute-form request line,
 * ignores a custom Host header and wants net permission for the fake host name.
 *
 * Deno permissions needed for a socket: read + write on the path and net `unix:<path>`.
 *
 * @example
 * ```ts
 * import { requestEndpoint } from "./endpoint.ts";
 * const res = await requestEndpoint(
 *   { transport: "unix", path: "/var/run/tailscale/tailscaled.sock" },
 *   "/localapi/v0/status",
 *   { timeoutMs: 3000 },
 * );
 * console.log(res.status);
 * ```
 */
import { CmeshError } from "../protocol/errors.ts";
import {
  Http1Error,
  http1Exchange,
  http1OpenStream,
  type Http1Response,
  type Http1StreamResponse,
} from "./http1.ts";
/** The Host header every LocalAPI request carries (tailscale `apitype.LocalAPIHost`). */
export const LOCALAPI_HOST = "local-tailscaled.sock";
/** Default request timeout. tailscaled answers whois from memory in well under a millisecond. */
export const DEFAULT_TIMEOUT_MS = 3000;
/** Default body limit. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** A LocalAPI on loopback TCP (macOS GUI variants, tsnet, explicit config). */
export interface TcpEndpoint {
  transport: "tcp";
  hostname: string;
  port: number;
  /** Sent as HTTP Basic auth with an empty user name, as the Go client does. */
  token: string | null;
  /** Where the port/token came from, for messages. */
  source: string;
}

/** Where one LocalAPI lives. */
export type LocalApiEndpoint = { transport: "unix"; path: string } | TcpEndpoint;

/** The failure classes a transport reports. */
export type TransportFailureCode = "unavailable" | "bad_response";

/** Base class: something went wrong talking to the LocalAPI. `message` says what and what to check. */
export class LocalApiTransportError extends CmeshError<TransportFailureCode> {
  /** `code` — `unavailable`: could not get an answer; `bad_response`: the answer was unusable. */
  constructor(code: TransportFailureCode, message: string) {
    super(code, message);
  }
}

/** No answer: socket missing, refused, permission, timeout, unsupported OS, dropped connection. */
export class LocalApiUnavailable extends LocalApiTransportError {
  /** `connect`: never reached the LocalAPI (a fallback endpoint may be tried); `exchange`: after. */
  readonly stage: "connect" | "exchange";
  constructor(message: string, stage: "connect" | "exchange" = "connect") {
    super("unavailable", message);
    this.stage = stage;
  }
}

/** An answer that is not HTTP we can use (malformed, too large). */
export class LocalApiBadResponse extends LocalApiTransportError {
  constructor(message: string) {
    super("bad_response", message);
  }
}

/** Per-request options. */
export interface LocalApiRequestOptions {
  /** Overall deadline for connect + request + full response. Default 3000 ms. */
  timeoutMs?: number;
  /** Largest accepted body. Default 4 MiB. */
  maxBodyBytes?: number;
  /** Caller cancellation. */
  signal?: AbortSignal;
}

/** Short description of an endpoint for messages. */
export function describeEndpoint(ep: LocalApiEndpoint): string {
  return ep.transport === "unix"
    ? `unix socket ${ep.path}`
    : `http://${
      ep.hostname.includes(":") ? `[${ep.hostname}]` : ep.hostname
    }:${ep.port} (${ep.source})`;
}

function connectError(ep: LocalApiEndpoint, err: unknown): LocalApiUnavailable {
  const msg = err instanceof Error ? err.message : String(err);
  if (ep.transport === "unix") {
    const p = ep.path;
    if (err instanceof Deno.errors.NotFound) {
      return new LocalApiUnavailable(
        `tailscaled LocalAPI socket ${p} not found: is tailscaled running? ` +
          `(set tailscale.socket in config.toml if it lives elsewhere)`,
      );
    }
    if (err instanceof Deno.errors.ConnectionRefused) {
      return new LocalApiUnavailable(
        `tailscaled LocalAPI socket ${p} refused the connection: tailscaled is not running ` +
          `(stale socket file)`,
      );
    }
    if (err instanceof Deno.errors.NotCapable) {
      return new LocalApiUnavailable(
        `Deno permission missing for the LocalAPI socket ${p}: it needs read and write on the ` +
          `path and net "unix:${p}" (${msg})`,
      );
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      return new LocalApiUnavailable(
        `permission denied connecting to tailscaled LocalAPI socket ${p}: check the socket's ` +
          `owner and mode and the cmesh user's access to its directory (${msg})`,
      );
    }
    return new LocalApiUnavailable(`cannot connect to tailscaled LocalAPI socket ${p}: ${msg}`);
  }
  const where = describeEndpoint(ep);
  if (err instanceof Deno.errors.ConnectionRefused) {
    return new LocalApiUnavailable(
      `nothing is listening on the LocalAPI at ${where}: is Tailscale running?`,
    );
  }
  if (err instanceof Deno.errors.NotCapable) {
    return new LocalApiUnavailable(
      `Deno permission missing for the LocalAPI at ${where}: allow net ${ep.hostname}:${ep.port} (${msg})`,
    );
  }
  return new LocalApiUnavailable(`cannot connect to the LocalAPI at ${where}: ${msg}`);
}

function exchangeError(ep: LocalApiEndpoint, err: unknown): LocalApiTransportError {
  const where = describeEndpoint(ep);
  if (err instanceof LocalApiTransportError) return err;
  if (err instanceof Http1Error) {
    if (err.kind === "closed") {
      return new LocalApiUnavailable(
        `tailscaled LocalAPI at ${where} closed the connection mid-response (${err.message})`,
        "exchange",
      );
    }
    return new LocalApiBadResponse(
      `tailscaled LocalAPI at ${where} sent an unusable response: ${err.message}`,
    );
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new LocalApiUnavailable(`LocalAPI request to ${where} failed: ${msg}`, "exchange");
}

/** The request headers every LocalAPI request carries. */
function localApiHeaders(ep: LocalApiEndpoint): Array<[string, string]> {
  const headers: Array<[string, string]> = [["Host", LOCALAPI_HOST], [
    "Accept",
    "application/json",
  ]];
  if (ep.transport === "tcp") {
    // tsnet's loopback LocalAPI demands this header; tailscaled ignores it.
    headers.push(["Sec-Tailscale", "localapi"]);
    if (ep.token !== null) headers.push(["Authorization", `Basic ${btoa(`:${ep.token}`)}`]);
  }
  return headers;
}

/** An open streaming LocalAPI response (e.g. `watch-ipn-bus`); `close()` ends it. */
export interface LocalApiStream extends Http1StreamResponse {
  close(): void;
}

/**
 * One long-lived GET: connect and read the response head within `timeoutMs`, then hand the
 * body over as it arrives. The caller reads `body` and calls `close()`.
 *
 * @throws {LocalApiTransportError}
 */
export async function openEndpointStream(
  ep: LocalApiEndpoint,
  target: string,
  opts: { timeoutMs?: number } = {},
): Promise<LocalApiStream> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let conn: Deno.Conn;
  try {
    conn = ep.transport === "unix"
      ? await Deno.connect({ transport: "unix", path: ep.path })
      : await Deno.connect({ transport: "tcp", hostname: ep.hostname, port: ep.port });
  } catch (err) {
    throw connectError(ep, err);
  }
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  const timer = setTimeout(close, timeoutMs);
  try {
    const res = await http1OpenStream(conn, {
      method: "GET",
      target,
      headers: localApiHeaders(ep),
    });
    return { ...res, close };
  } catch (err) {
    close();
    throw exchangeError(
      ep,
      closed && !(err instanceof Http1Error && err.kind !== "closed")
        ? new LocalApiUnavailable(
          `tailscaled LocalAPI at ${describeEndpoint(ep)} did not answer within ${timeoutMs} ms`,
          "exchange",
        )
        : err,
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One GET to one endpoint, with timeout and body limit. Used by every transport.
 *
 * @throws {LocalApiTransportError}
 */
export async function requestEndpoint(
  ep: LocalApiEndpoint,
  target: string,
  opts: LocalApiRequestOptions = {},
): Promise<Http1Response> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const headers = localApiHeaders(ep);

  let conn: Deno.Conn | null = null;
  let abortWith: ((e: LocalApiTransportError) => void) | null = null;
  let aborted: LocalApiTransportError | null = null;
  const abortPromise = new Promise<never>((_, reject) => {
    abortWith = (e) => {
      aborted ??= e;
      reject(e);
    };
  });
  abortPromise.catch(() => {}); // handled through the races below
  const timer = setTimeout(() => {
    abortWith!(
      new LocalApiUnavailable(
        `tailscaled LocalAPI at ${describeEndpoint(ep)} did not answer within ${timeoutMs} ms: ` +
          `tailscaled may be hung or overloaded`,
        conn === null ? "connect" : "exchange",
      ),
    );
    try {
      conn?.close();
    } catch { /* already closed */ }
  }, timeoutMs);
  const onAbort = () => {
    abortWith!(new LocalApiUnavailable("LocalAPI request cancelled by the caller", "exchange"));
    try {
      conn?.close();
    } catch { /* already closed */ }
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });

  try {
    const connecting = ep.transport === "unix"
      ? Deno.connect({ transport: "unix", path: ep.path })
      : Deno.connect({ transport: "tcp", hostname: ep.hostname, port: ep.port });
    // A connect that completes after a timeout must not leak its connection.
    connecting.then((c) => {
      if (aborted) c.close();
    }, () => {});
    try {
      conn = await Promise.race([connecting, abortPromise]);
    } catch (err) {
      if (err instanceof LocalApiTransportError) throw err;
      throw connectError(ep, err);
    }
    try {
      return await Promise.race([
        http1Exchange(conn, { method: "GET", target, headers }, { maxBodyBytes }),
        abortPromise,
      ]);
    } catch (err) {
      throw exchangeError(ep, aborted ?? err);
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
    try {
      conn?.close();
    } catch { /* closed by the abort path */ }
  }
}
