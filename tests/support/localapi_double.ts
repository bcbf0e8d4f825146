/**
 * @module
 * A LocalAPI double: a unix-socket (or loopback TCP) HTTP server that speaks tailscaled's
 * LocalAPI wire format for `whois` and `status`, with tailscaled's request checks
 * (`ipn/localapi/localapi.go` `ServeHTTP`, `validHost`, `serveWhoIsWithBackend`, `serveStatus`):
 *
 * - `Referer` or `Origin` present, or a Host other than `local-tailscaled.sock`/empty (loopback
 *   `host:port` only when a password is set) → 403 `invalid localapi request`.
 * - password set: no Basic auth → 401 `auth required`; wrong → 403 `bad password`.
 * - `GET /localapi/v0/whois?addr=`: 400 `missing 'addr' parameter` / `invalid 'addr' parameter`
 *   / `invalid nodekey in 'addr' parameter`; 404 `no match for IP:port`; 200 tab-indented JSON.
 *   Mapped `::ffff:` addresses are only un-mapped with `unmapMapped` (tailscaled >= 1.102).
 *   Loopback `ip:port` resolves through `proxyMap` (userspace-networking).
 * - `GET /localapi/v0/status[?peers=false]`: tab-indented JSON plus newline.
 * - `GET /localapi/v0/watch-ipn-bus?mask=N` (`serveWatchIPNBus`): 400 `bad mask` for a
 *   non-number; else a 200 `application/json` stream (chunked) of `ipn.Notify` objects, one
 *   compact JSON per line, as Go's `json.Encoder` writes them: first `{Version, SessionID,
 *   State}` when the mask has `NotifyInitialState` (2), then one message per change made
 *   through `update`/`setNodes` (`PeersRemoved` node IDs, `PeersChanged` full nodes when the
 *   mask has `NotifyPeerChanges`/`NotifyPeerPatches`, `SelfChange`, `State`), or `notify`.
 * - `/` → `tailscaled`; anything else → 404 `404 page not found`. Errors are text/plain with a
 *   trailing newline, like Go's `http.Error`. Bodies over 2 KiB are sent chunked, as Go does.
 *
 * In-process: `await startLocalApiDouble({ self, nodes })`. Standalone (e.g. in a netns):
 * `deno run -A tests/support/localapi_double.ts --socket /path --config nodes.json`, which
 * prints one JSON ready line (`{"ready":true,"socket":...}`), reloads the config on SIGHUP and
 * exits on SIGTERM/SIGINT. The config file is {@link DoubleConfig} as JSON.
 *
 * @example
 * ```ts
 * import { startLocalApiDouble } from "./localapi_double.ts";
 * const api = await startLocalApiDouble({
 *   self: { name: "worker", ips: ["100.64.0.1"], tags: ["tag:worker"] },
 *   nodes: [{ name: "laptop", ips: ["100.64.0.2"], login: "alice@example.com" }],
 * });
 * // ... point LocalApiClient at api.socketPath ...
 * api.failNext(500);
 * await api.stop();
 * ```
 */
import { z } from "zod";
import {
  goBody,
  goCanonicalAddr,
  goError,
  goRequestHost,
  unmap,
  validHost,
} from "./localapi_gowire.ts";
import { createIpnBusHub } from "./localapi_bus.ts";
import {
  buildStatus,
  buildWhoisResponse,
  nodeKeys,
  type NodeSpec,
  tailscaledJson,
} from "./localapi_fixtures.ts";

/** What the double serves (also the standalone config file's shape). */
export interface DoubleConfig {
  self: NodeSpec;
  nodes?: NodeSpec[];
  backendState?: string;
  tun?: boolean;
  magicDnsSuffix?: string;
  tailnetName?: string;
  /** Emulate tailscaled >= 1.102, which un-maps `::ffff:` whois addresses. Default false. */
  unmapMapped?: boolean;
  /** `"127.0.0.1:PORT"` → tailnet IP of the caller (userspace-networking proxy map). */
  proxyMap?: Record<string, string>;
  /** false → whois/status answer 403 `... access denied`. Default true. */
  permitRead?: boolean;
  /** Require Basic auth with this password (macOS GUI / tsnet style). */
  password?: string;
  /** false → `watch-ipn-bus` answers 404, as a tailscaled without it would. Default true. */
  ipnBus?: boolean;
}

/** Where to listen, plus the served config. */
export interface LocalApiDoubleOptions extends DoubleConfig {
  /** Unix socket path; default a fresh temp dir's `tailscaled.sock`. */
  socketPath?: string;
  /** Listen on 127.0.0.1 TCP instead (port 0 = any). */
  tcpPort?: number;
}

/** One request as the double saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
}

/** A running double. */
export interface LocalApiDouble {
  /** Unix socket path, or null in TCP mode. */
  readonly socketPath: string | null;
  /** `http://127.0.0.1:PORT` in TCP mode, else null. */
  readonly url: string | null;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Replace the peer table. */
  setNodes(nodes: NodeSpec[]): void;
  /** Replace any part of the config. */
  update(patch: Partial<DoubleConfig>): void;
  /** Answer the next request with `status` and a tailscaled-like text body. */
  failNext(status: number, body?: string): void;
  /** Answer the next request with exactly this (e.g. malformed or huge JSON). */
  respondNext(raw: { status?: number; body: string | Uint8Array; contentType?: string }): void;
  /** Delay the next `count` requests by `ms` before answering. */
  hang(ms: number, count?: number): void;
  /** Send one raw notification to every IPN bus watcher. */
  notify(n: Record<string, unknown>): void;
  /** End every IPN bus stream (as tailscaled does on restart). */
  dropWatchers(): void;
  /** IPN bus streams open now. */
  readonly watchers: number;
  /** Stop listening and remove the socket (and the temp dir if the double made it). */
  stop(): Promise<void>;
}

const NodeSpecSchema = z.object({
  name: z.string(),
  ips: z.array(z.string()),
  login: z.string().optional(),
  displayName: z.string().optional(),
  tags: z.array(z.string()).optional(),
  capMap: z.record(z.string(), z.array(z.unknown())).optional(),
  os: z.string().optional(),
  online: z.boolean().optional(),
  stableId: z.string().optional(),
  sharer: z.boolean().optional(),
  expired: z.boolean().optional(),
});

export { goCanonicalAddr };

/** Validates a standalone config file. */
export const DoubleConfigSchema = z.object({
  self: NodeSpecSchema,
  nodes: z.array(NodeSpecSchema).optional(),
  backendState: z.string().optional(),
  tun: z.boolean().optional(),
  magicDnsSuffix: z.string().optional(),
  tailnetName: z.string().optional(),
  unmapMapped: z.boolean().optional(),
  proxyMap: z.record(z.string(), z.string()).optional(),
  permitRead: z.boolean().optional(),
  password: z.string().optional(),
  ipnBus: z.boolean().optional(),
});

const DEFAULT_FAIL_BODIES: Record<number, string> = {
  401: "auth required",
  403: "whois access denied",
  404: "no match for IP:port",
  500: "server has no local backend",
};

/** Start a double. Resolves once it is listening. */
export async function startLocalApiDouble(opts: LocalApiDoubleOptions): Promise<LocalApiDouble> {
  let config: DoubleConfig = { ...opts };
  const requests: RecordedRequest[] = [];
  const injected: Array<() => Response> = [];
  const hangs: number[] = [];
  const stopping = new AbortController();

  let madeDir: string | null = null;
  let socketPath: string | null = null;
  if (opts.tcpPort === undefined) {
    if (opts.socketPath) {
      socketPath = opts.socketPath;
    } else {
      madeDir = await Deno.makeTempDir({ prefix: "localapi-double-" });
      socketPath = `${madeDir}/tailscaled.sock`;
    }
    try {
      await Deno.remove(socketPath); // a stale socket file makes listen fail with AddrInUse
    } catch { /* none */ }
  }

  const allNodes = () => [config.self, ...(config.nodes ?? [])];

  const findNode = (ip: string, port: number): NodeSpec | null => {
    let key = goCanonicalAddr(ip);
    if (key === null) return null;
    if (config.unmapMapped) key = unmap(key);
    const byIp = (k: string) => allNodes().find((n) => n.ips.some((a) => goCanonicalAddr(a) === k));
    const direct = byIp(key);
    if (direct) return direct;
    const proxied = config.proxyMap?.[key.includes(":") ? `[${key}]:${port}` : `${key}:${port}`];
    if (proxied === undefined) return null;
    const target = goCanonicalAddr(proxied);
    return target === null ? null : byIp(target) ?? null;
  };

  const serveWhois = (params: URLSearchParams, headers: Headers): Response => {
    if (config.permitRead === false) return goError(403, "whois access denied", headers);
    const v = params.get("addr") ?? "";
    if (v === "") return goError(400, "missing 'addr' parameter", headers);
    let node: NodeSpec | null;
    if (v.startsWith("nodekey:")) {
      if (!/^nodekey:[0-9a-f]{64}$/.test(v)) {
        return goError(400, "invalid nodekey in 'addr' parameter", headers);
      }
      node = allNodes().find((n) => nodeKeys(n).nodeKey === v) ?? null;
    } else if (goCanonicalAddr(v) !== null) {
      node = findNode(v, 0);
    } else {
      // netip.ParseAddrPort: "a.b.c.d:port" or "[v6]:port"; brackets only around IPv6.
      const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(v);
      const host = m ? (m[1] ?? m[2]) : "";
      const bracketedV4 = m !== null && m[1] !== undefined && !host.includes(":");
      if (!m || bracketedV4 || goCanonicalAddr(host) === null || Number(m[3]) > 65535) {
        return goError(400, "invalid 'addr' parameter", headers);
      }
      node = findNode(host, Number(m[3]));
    }
    if (!node) return goError(404, "no match for IP:port", headers);
    headers.set("Content-Type", "application/json");
    return new Response(goBody(tailscaledJson(buildWhoisResponse(node, config))), {
      status: 200,
      headers,
    });
  };

  const serveStatus = (params: URLSearchParams, headers: Headers): Response => {
    if (config.permitRead === false) return goError(403, "status access denied", headers);
    const peersParam = params.get("peers");
    const withoutPeers = peersParam !== null &&
      ["0", "f", "F", "false", "FALSE", "False"].includes(peersParam);
    const body = buildStatus({
      self: config.self,
      peers: config.nodes ?? [],
      backendState: config.backendState,
      tun: config.tun,
      magicDnsSuffix: config.magicDnsSuffix,
      tailnetName: config.tailnetName,
      withoutPeers,
    });
    headers.set("Content-Type", "application/json");
    return new Response(goBody(`${tailscaledJson(body)}\n`), { status: 200, headers });
  };

  const bus = createIpnBusHub(() => config);
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    requests.push({
      method: req.method,
      path: url.pathname,
      query: url.search,
      headers: Object.fromEntries(req.headers),
    });
    const delay = hangs.shift();
    if (delay !== undefined && delay > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        const done = () => {
          clearTimeout(t);
          resolve();
        };
        stopping.signal.addEventListener("abort", done, { once: true });
      });
    }
    const inject = injected.shift();
    if (inject) return inject();

    const host = goRequestHost(req);
    if (
      req.headers.get("referer") || req.headers.get("origin") || !validHost(host, !!config.password)
    ) {
      return goError(403, "invalid localapi request");
    }
    const headers = new Headers({
      "Tailscale-Version": "1.90.6-t0123456789-g0123456789",
      "Tailscale-Cap": "130",
      "Content-Security-Policy":
        "default-src 'none'; frame-ancestors 'none'; script-src 'none'; script-src-elem 'none'; script-src-attr 'none'",
      "X-Frame-Options": "DENY",
      "X-Content-Type-Options": "nosniff",
    });
    if (config.password) {
      const auth = req.headers.get("authorization") ?? "";
      const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(auth);
      let pass: string | null = null;
      try {
        pass = m ? atob(m[1]).split(":").slice(1).join(":") : null;
      } catch {
        pass = null;
      }
      if (pass === null) return goError(401, "auth required", headers);
      if (pass !== config.password) return goError(403, "bad password", headers);
    }
    if (url.pathname === "/") return new Response("tailscaled\n", { status: 200, headers });
    if (url.pathname === "/localapi/v0/whois") return serveWhois(url.searchParams, headers);
    if (url.pathname === "/localapi/v0/status") return serveStatus(url.searchParams, headers);
    if (url.pathname === "/localapi/v0/watch-ipn-bus") return bus.serve(url.searchParams, headers);
    return goError(404, "404 page not found", headers);
  };

  let listening!: () => void;
  const ready = new Promise<void>((r) => (listening = r));
  const server = socketPath !== null
    ? Deno.serve(
      { path: socketPath, onListen: () => listening(), signal: stopping.signal },
      handler,
    )
    : Deno.serve(
      {
        hostname: "127.0.0.1",
        port: opts.tcpPort ?? 0,
        onListen: () => listening(),
        signal: stopping.signal,
      },
      handler,
    );
  await ready;
  const addr = server.addr;
  const url = addr.transport === "tcp" ? `http://127.0.0.1:${addr.port}` : null;

  return {
    socketPath,
    url,
    requests,
    setNodes(nodes) {
      const before = config;
      config = { ...config, nodes };
      bus.emitChanges(before, config);
    },
    update(patch) {
      const before = config;
      config = { ...config, ...patch };
      bus.emitChanges(before, config);
    },
    notify(n) {
      bus.send(n);
    },
    dropWatchers: () => bus.drop(),
    get watchers() {
      return bus.count;
    },
    failNext(status, body) {
      injected.push(() =>
        goError(status, body ?? DEFAULT_FAIL_BODIES[status] ?? "injected failure")
      );
    },
    respondNext(raw) {
      injected.push(() =>
        new Response(goBody(raw.body), {
          status: raw.status ?? 200,
          headers: { "Content-Type": raw.contentType ?? "application/json" },
        })
      );
    },
    hang(ms, count = 1) {
      for (let i = 0; i < count; i++) hangs.push(ms);
    },
    async stop() {
      bus.drop();
      stopping.abort();
      await server.finished;
      if (madeDir) await Deno.remove(madeDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Parse `--name value` pairs. */
function parseArgs(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(args[i]);
    if (!m) throw new Error(`unexpected argument ${args[i]}`);
    out[m[1]] = m[2] ?? args[++i] ?? "";
  }
  return out;
}

async function readConfig(path: string): Promise<DoubleConfig> {
  return DoubleConfigSchema.parse(JSON.parse(await Deno.readTextFile(path)));
}

async function main(): Promise<void> {
  const args = parseArgs(Deno.args);
  if (!args.config || (!args.socket && !args["tcp-port"])) {
    console.error("usage: localapi_double.ts --socket PATH | --tcp-port N --config nodes.json");
    Deno.exit(2);
  }
  const config = await readConfig(args.config);
  const api = await startLocalApiDouble({
    ...config,
    socketPath: args.socket || undefined,
    tcpPort: args["tcp-port"] ? Number(args["tcp-port"]) : undefined,
  });
  console.log(JSON.stringify({ ready: true, socket: api.socketPath, url: api.url, pid: Deno.pid }));
  Deno.addSignalListener("SIGHUP", () => {
    readConfig(args.config).then(
      (c) => api.update({ ...c, proxyMap: c.proxyMap ?? {}, nodes: c.nodes ?? [] }),
      (e) => console.error(`reload failed: ${e instanceof Error ? e.message : e}`),
    );
  });
  const quit = async () => {
    await api.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", quit);
  Deno.addSignalListener("SIGINT", quit);
}

if (import.meta.main) await main();
