/**
 * @module
 * How cmesh reaches tailscaled's LocalAPI, per OS, the way tailscaled's own clients do it:
 *
 * - Linux and other unixes: the unix socket (default `/var/run/tailscale/tailscaled.sock`,
 *   override with `socket`).
 * - macOS: the open-source tailscaled's socket `/var/run/tailscaled.socket` if it is there and
 *   answers, else the GUI variants' loopback port + token (see `macos.ts`).
 * - Windows: tailscaled listens on a named pipe, which Deno can open only with all permissions
 *   granted; cmesh runs the `tailscale` CLI instead (`cli_transport.ts`), by default
 *   `C:\\Program Files\\Tailscale\\tailscale.exe`.
 * - Any OS, `transport: "cli"`: the same CLI transport (tests run it against a real tailscaled).
 * - Any OS: an explicit loopback URL (`url: "http://127.0.0.1:PORT"`, optional `token`), for
 *   tsnet/userspace LocalAPIs and tests.
 *
 * Each request is one bounded GET with `Host: local-tailscaled.sock` (see `endpoint.ts`, whose
 * exports are re-exported here).
 *
 * @example
 * ```ts
 * import { createLocalApiTransport } from "./transport.ts";
 * const transport = createLocalApiTransport({ socket: "/run/tailscale/tailscaled.sock" });
 * const res = await transport.get("/localapi/v0/status", { timeoutMs: 3000 });
 * console.log(res.status);
 * ```
 */
import type { Http1Response } from "./http1.ts";
import {
  describeEndpoint,
  type LocalApiEndpoint,
  type LocalApiRequestOptions,
  type LocalApiStream,
  LocalApiUnavailable,
  openEndpointStream,
  requestEndpoint,
  type TcpEndpoint,
} from "./endpoint.ts";
import { isLoopbackIp } from "./addr.ts";
import { CliTransport, WINDOWS_TAILSCALE_CLI } from "./cli_transport.ts";
import { discoverMacGuiEndpoint, type MacDiscoveryDeps, realMacDiscoveryDeps } from "./macos.ts";

export * from "./endpoint.ts";

/** Default socket of the open-source tailscaled on Linux and most unixes. */
export const DEFAULT_LINUX_SOCKET = "/var/run/tailscale/tailscaled.sock";
/** Default socket of the open-source tailscaled on macOS (GUI variants use TCP instead). */
export const DEFAULT_DARWIN_SOCKET = "/var/run/tailscaled.socket";
/** tailscaled's named pipe on Windows (reached through the `tailscale` CLI, see `cli_transport.ts`). */
export const WINDOWS_PIPE = "\\\\.\\pipe\\ProtectedPrefix\\Administrators\\Tailscale\\tailscaled";

/** A LocalAPI transport: GET a `/localapi/v0/...` target and get the whole response back. */
export interface LocalApiTransport {
  /** Human-readable location, e.g. `unix socket /var/run/tailscale/tailscaled.sock`. */
  describe(): string;
  /** @throws {LocalApiTransportError} on any failure to get a usable HTTP response. */
  get(target: string, opts?: LocalApiRequestOptions): Promise<Http1Response>;
  /**
   * A long-lived GET whose body is read as it arrives (the IPN bus). Absent where the
   * transport cannot stream (the `tailscale` CLI).
   *
   * @throws {LocalApiTransportError}
   */
  stream?(target: string, opts?: { timeoutMs?: number }): Promise<LocalApiStream>;
}

/** How to find the LocalAPI. Fields usually come from `config.toml` `[tailscale]`. */
export interface LocalApiTransportOptions {
  /** Unix socket path; overrides the per-OS default. */
  socket?: string;
  /** Explicit loopback URL `http://127.0.0.1:PORT` (tsnet/userspace LocalAPI, tests). */
  url?: string;
  /** Password for `url` (Basic auth, empty user). */
  token?: string;
  /** OS to resolve for; default `Deno.build.os`. */
  os?: typeof Deno.build.os;
  /** macOS discovery hooks (tests). */
  macDeps?: MacDiscoveryDeps;
  /**
   * `localapi`: the socket/URL; `cli`: run the `tailscale` CLI per request; `auto` (default):
   * the CLI on Windows, the LocalAPI elsewhere.
   */
  transport?: "auto" | "localapi" | "cli";
  /** Absolute path of the `tailscale` CLI (default on Windows: the installer's location). */
  cli?: string;
}

/** A transport bound to one fixed endpoint. */
class FixedTransport implements LocalApiTransport {
  constructor(private readonly ep: LocalApiEndpoint) {}
  describe(): string {
    return describeEndpoint(this.ep);
  }
  get(target: string, opts?: LocalApiRequestOptions): Promise<Http1Response> {
    return requestEndpoint(this.ep, target, opts);
  }
  stream(target: string, opts?: { timeoutMs?: number }): Promise<LocalApiStream> {
    return openEndpointStream(this.ep, target, opts);
  }
}

/** macOS: the open-source daemon's socket first, then the GUI variants' port + token. */
class DarwinTransport implements LocalApiTransport {
  #gui: LocalApiEndpoint | null = null;
  constructor(private readonly socketPath: string, private readonly deps: MacDiscoveryDeps) {}

  describe(): string {
    return this.#gui
      ? describeEndpoint(this.#gui)
      : `unix socket ${this.socketPath} or the Tailscale app`;
  }

  get(target: string, opts?: LocalApiRequestOptions): Promise<Http1Response> {
    return this.#via((ep) => requestEndpoint(ep, target, opts));
  }

  stream(target: string, opts?: { timeoutMs?: number }): Promise<LocalApiStream> {
    return this.#via((ep) => openEndpointStream(ep, target, opts));
  }

  async #via<T>(call: (ep: LocalApiEndpoint) => Promise<T>): Promise<T> {
    const tried: string[] = [];
    if (await this.deps.exists(this.socketPath)) {
      try {
        return await call({ transport: "unix", path: this.socketPath });
      } catch (err) {
        if (!(err instanceof LocalApiUnavailable && err.stage === "connect")) throw err;
        tried.push(err.message);
      }
    } else {
      tried.push(`${this.socketPath} does not exist`);
    }
    // The GUI app picks a new port when it restarts: reuse the last find, rediscover on failure.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.#gui === null) {
        const found = await discoverMacGuiEndpoint(this.deps);
        if (!found.ok) {
          tried.push(...found.tried);
          throw new LocalApiUnavailable(
            `no tailscaled LocalAPI found on this Mac: ${
              tried.join("; ")
            }. Is Tailscale running? ` +
              `(set tailscale.socket or tailscale.localapi_url in config.toml)`,
          );
        }
        this.#gui = found.endpoint;
      }
      try {
        return await call(this.#gui);
      } catch (err) {
        if (!(err instanceof LocalApiUnavailable && err.stage === "connect") || attempt === 1) {
          throw err;
        }
        this.#gui = null;
      }
    }
    throw new LocalApiUnavailable("unreachable");
  }
}

/** Parse and check an explicit LocalAPI URL: http, loopback literal (or localhost), a port. */
export function parseLocalApiUrl(url: string, token?: string): TcpEndpoint {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`tailscale.localapi_url is not a URL: ${JSON.stringify(url)}`);
  }
  if (
    u.protocol !== "http:" || u.username || u.password || (u.pathname !== "/" && u.pathname !== "")
  ) {
    throw new TypeError(
      `tailscale.localapi_url must look like http://127.0.0.1:PORT (got ${JSON.stringify(url)})`,
    );
  }
  let hostname = u.hostname.replace(/^\[|\]$/g, "");
  // Go's client dials 127.0.0.1, never "localhost" (which may resolve elsewhere): do the same.
  if (hostname === "localhost") hostname = "127.0.0.1";
  if (!isLoopbackIp(hostname)) {
    throw new TypeError(
      `tailscale.localapi_url must point at a loopback address, not ${
        JSON.stringify(u.hostname)
      }: ` +
        `the LocalAPI is never reached over a network`,
    );
  }
  if (u.port === "") throw new TypeError(`tailscale.localapi_url needs an explicit port: ${url}`);
  return {
    transport: "tcp",
    hostname,
    port: Number(u.port),
    token: token ?? null,
    source: "tailscale.localapi_url",
  };
}

/** The default unix socket for an OS, or `null` where tailscaled uses something else. */
export function defaultSocketPath(os: typeof Deno.build.os): string | null {
  switch (os) {
    case "windows":
      return null;
    case "darwin":
      return DEFAULT_DARWIN_SOCKET;
    default:
      return DEFAULT_LINUX_SOCKET;
  }
}

/**
 * Build the transport for this machine: the `tailscale` CLI when asked for (and by default on
 * Windows), else an explicit `url`, then an explicit `socket`, then the per-OS default.
 *
 * @throws {TypeError} when `url` is given but not an acceptable loopback URL, or the CLI is
 *   asked for without a path on an OS that has no default one.
 * @example
 * ```ts
 * createLocalApiTransport({}).describe(); // "unix socket /var/run/tailscale/tailscaled.sock" on Linux
 * createLocalApiTransport({ url: "http://127.0.0.1:41112", token: "s3cret" });
 * createLocalApiTransport({ os: "windows" }).describe(); // "tailscale CLI C:\Program Files\Tailscale\tailscale.exe"
 * ```
 */
export function createLocalApiTransport(opts: LocalApiTransportOptions = {}): LocalApiTransport {
  const os = opts.os ?? Deno.build.os;
  const kind = opts.transport ?? "auto";
  if (
    kind === "cli" ||
    (kind === "auto" && os === "windows" && opts.url === undefined && opts.socket === undefined)
  ) {
    const binary = opts.cli ?? (os === "windows" ? WINDOWS_TAILSCALE_CLI : undefined);
    if (binary === undefined) {
      throw new TypeError(
        `tailscale.transport = "cli" needs tailscale.cli_path (the absolute path of the tailscale CLI) on ${os}`,
      );
    }
    return new CliTransport({ binary, socket: opts.socket });
  }
  if (opts.url !== undefined) return new FixedTransport(parseLocalApiUrl(opts.url, opts.token));
  if (opts.socket !== undefined) {
    return new FixedTransport({ transport: "unix", path: opts.socket });
  }
  if (os === "windows") {
    throw new TypeError(
      `tailscaled's LocalAPI on Windows is the named pipe ${WINDOWS_PIPE}; use tailscale.transport = "cli" or "auto"`,
    );
  }
  if (os === "darwin") {
    return new DarwinTransport(DEFAULT_DARWIN_SOCKET, opts.macDeps ?? realMacDiscoveryDeps);
  }
  return new FixedTransport({ transport: "unix", path: DEFAULT_LINUX_SOCKET });
}
