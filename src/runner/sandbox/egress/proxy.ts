/**
 * @module
 * The daemon half of `model` egress: one run's egress proxy. It serves the unix sockets that
 * the run's in-sandbox forwarders (`forwarder.ts`) connect to, and connects only to the run's
 * allowed destinations:
 *
 * - the **proxy socket** speaks HTTP proxy: `CONNECT host:port` (TLS stays end to end) or an
 *   absolute-form `GET http://host:port/...`; the target must be an allowed destination,
 *   else the answer is `403` with the rule that refused it;
 * - a **tunnel socket** forwards raw bytes to its one fixed destination.
 *
 * A destination named by a DNS name that resolves to a loopback, link-local or tailnet address
 * is refused after connecting and before any byte passes (a name must not lead to the worker's
 * control API or another node). Bounded per run: concurrent connections, bytes in both
 * directions, header size and wait, connect time. `close()` ends every connection and
 * removes the socket directory.
 *
 * @example
 * ```ts
 * import { startEgressProxy } from "./proxy.ts";
 * const proxy = await startEgressProxy({
 *   socketDir: "/var/lib/cmesh/egress/ab12cd34",
 *   listeners: [{ kind: "proxy", socket: "/var/lib/cmesh/egress/ab12cd34/p.sock" }],
 *   allowed: [{ host: "api.anthropic.com", port: 443 }],
 *   onRecord: (r) => console.log(r.verdict, r.destination, r.reason),
 * });
 * // ... run ...
 * await proxy.close();
 * console.log(proxy.summary());
 * ```
 */
import {
  type Destination,
  formatDestination,
  isIpv4,
  isIpv6,
  localAddressReason,
} from "../../../util/destination.ts";
import {
  answer,
  encoder,
  type ProxyRequest,
  readRequest,
  Refusal,
  safeClose,
  writeAll,
} from "./proxy_http.ts";
import type { EgressListener } from "./forwarder.ts";

/** Bounds of one run's egress. */
export interface EgressLimits {
  /** Connections open at once (more are refused). */
  maxConnections: number;
  /** Bytes through the proxy in both directions, over the whole run. */
  maxBytes: number;
  /** Largest proxy request header. */
  maxHeaderBytes: number;
  /** How long a proxy request header may take to arrive. */
  headerTimeoutMs: number;
  /** How long connecting to a destination may take. */
  connectTimeoutMs: number;
}

/** Defaults: generous for a model API, small for anything else. */
export const DEFAULT_EGRESS_LIMITS: EgressLimits = {
  maxConnections: 64,
  maxBytes: 1024 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  headerTimeoutMs: 10_000,
  connectTimeoutMs: 15_000,
};

/** One decision of the proxy. */
export interface EgressRecord {
  verdict: "allowed" | "refused";
  /** `host:port` asked for (or what could be read of it). */
  destination: string;
  via: "proxy" | "tunnel";
  /** For refusals: which rule, and why. */
  reason: string | null;
}

/** What a run did through its proxy. */
export interface EgressSummary {
  /** Connections per allowed destination. */
  allowed: Record<string, number>;
  /** Refusals per asked destination. */
  refused: Record<string, number>;
  /** Bytes carried (both directions). */
  bytes: number;
  /** True when the byte limit cut a connection. */
  byteLimitHit: boolean;
}

/** Options of {@link startEgressProxy}. */
export interface EgressProxyOptions {
  /** The per-run directory holding the sockets; created (0700) here, removed by `close()`. */
  socketDir: string;
  listeners: readonly EgressListener[];
  allowed: readonly Destination[];
  limits?: Partial<EgressLimits>;
  /** The first allowed connection per destination and every refusal (bounded). */
  onRecord?(record: EgressRecord): void;
  /** Connects to a destination (tests replace it); default `Deno.connect`. */
  connect?(d: Destination, signal: AbortSignal): Promise<Deno.Conn>;
}

/** A running proxy. */
export interface EgressProxy {
  /** Stops listening, ends every connection, removes the socket directory. Idempotent. */
  close(): Promise<void>;
  summary(): EgressSummary;
}

/** Records passed to `onRecord` per run, at most (the summary counts everything). */
const MAX_RECORDS = 100;

/** Starts one run's proxy: every listener is bound when this resolves. */
export async function startEgressProxy(opts: EgressProxyOptions): Promise<EgressProxy> {
  const limits = { ...DEFAULT_EGRESS_LIMITS, ...opts.limits };
  const allowed = new Map(opts.allowed.map((d) => [formatDestination(d), d]));
  const connect = opts.connect ??
    ((d: Destination, signal: AbortSignal) =>
      Deno.connect({ hostname: d.host, port: d.port, signal }));
  const summary: EgressSummary = { allowed: {}, refused: {}, bytes: 0, byteLimitHit: false };
  const conns = new Set<Deno.Conn>();
  let clients = 0;
  const tasks = new Set<Promise<void>>();
  const closing = new AbortController();
  let records = 0;
  const record = (r: EgressRecord) => {
    const table = r.verdict === "allowed" ? summary.allowed : summary.refused;
    const first = table[r.destination] === undefined;
    table[r.destination] = (table[r.destination] ?? 0) + 1;
    if ((r.verdict === "refused" || first) && records < MAX_RECORDS) {
      records++;
      try {
        opts.onRecord?.(r);
      } catch { /* a failing observer never breaks the proxy */ }
    }
  };

  await Deno.mkdir(opts.socketDir, { recursive: true, mode: 0o700 });
  const listeners: Deno.UnixListener[] = [];
  try {
    for (const l of opts.listeners) {
      await Deno.remove(l.socket).catch(() => {});
      listeners.push(Deno.listen({ transport: "unix", path: l.socket }));
    }
  } catch (e) {
    for (const l of listeners) l.close();
    await Deno.remove(opts.socketDir, { recursive: true }).catch(() => {});
    throw e;
  }

  const track = (p: Promise<void>) => {
    tasks.add(p);
    p.finally(() => tasks.delete(p));
  };

  /** Connects to an allowed destination; refuses names that land on local addresses. */
  const open = async (d: Destination): Promise<Deno.Conn> => {
    const key = formatDestination(d);
    const timeout = AbortSignal.timeout(limits.connectTimeoutMs);
    let conn: Deno.Conn;
    try {
      conn = await connect(d, AbortSignal.any([timeout, closing.signal]));
    } catch (e) {
      throw new Refusal(502, key, `cannot connect to ${key}: ${(e as Error).message}`);
    }
    // `localhost` and literals say where they lead; only other names are checked.
    const literal = isIpv4(d.host) || isIpv6(d.host) || d.host === "localhost";
    const remote = (conn.remoteAddr as Deno.NetAddr).hostname ?? "";
    const local = literal ? null : localAddressReason(remote);
    if (local !== null) {
      conn.close();
      throw new Refusal(
        403,
        key,
        `${d.host} resolved to ${remote}, ${local}; a name may not lead there (name the address itself in egress_hosts to allow it)`,
      );
    }
    return conn;
  };

  /** Copies `from` → `to` under the run's byte budget; half-closes `to` at EOF. */
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        summary.bytes += n;
        if (summary.bytes > limits.maxBytes) {
          summary.byteLimitHit = true;
          throw new Error("byte limit");
        }
        await writeAll(to, buf.subarray(0, n));
      }
      await to.closeWrite().catch(() => {});
    } catch {
      safeClose(from);
      safeClose(to);
    }
  };

  const splice = async (client: Deno.Conn, upstream: Deno.Conn, head: Uint8Array) => {
    conns.add(upstream);
    try {
      if (head.length > 0) await writeAll(upstream, head);
      await Promise.all([pump(client, upstream), pump(upstream, client)]);
    } finally {
      safeClose(upstream);
      conns.delete(upstream);
    }
  };

  const serveTunnel = async (client: Deno.Conn, d: Destination) => {
    const key = formatDestination(d);
    if (!allowed.has(key)) {
      record({ verdict: "refused", destination: key, via: "tunnel", reason: "not allowed" });
      return;
    }
    let upstream: Deno.Conn;
    try {
      upstream = await open(d);
    } catch (e) {
      const r = e as Refusal;
      record({ verdict: "refused", destination: key, via: "tunnel", reason: r.message });
      return;
    }
    record({ verdict: "allowed", destination: key, via: "tunnel", reason: null });
    await splice(client, upstream, new Uint8Array());
  };

  const serveProxy = async (client: Deno.Conn) => {
    let request: ProxyRequest;
    try {
      request = await readRequest(client, limits, allowed);
    } catch (e) {
      const r = e instanceof Refusal ? e : new Refusal(400, "?", (e as Error).message);
      record({ verdict: "refused", destination: r.destination, via: "proxy", reason: r.message });
      await answer(client, r.status, r.message);
      return;
    }
    let upstream: Deno.Conn;
    try {
      upstream = await open(request.destination);
    } catch (e) {
      const r = e as Refusal;
      record({ verdict: "refused", destination: r.destination, via: "proxy", reason: r.message });
      await answer(client, r.status, r.message);
      return;
    }
    record({
      verdict: "allowed",
      destination: formatDestination(request.destination),
      via: "proxy",
      reason: null,
    });
    if (request.connect) {
      await writeAll(client, encoder.encode("HTTP/1.1 200 Connection Established\r\n\r\n"))
        .catch(() => {});
    }
    await splice(client, upstream, request.forward);
  };

  const acceptLoop = async (listener: Deno.UnixListener, l: EgressListener) => {
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await listener.accept();
      } catch {
        return; // closed
      }
      if (clients >= limits.maxConnections) {
        record({
          verdict: "refused",
          destination: l.kind === "tunnel" ? formatDestination(l.destination) : "?",
          via: l.kind,
          reason: `more than ${limits.maxConnections} connections at once`,
        });
        safeClose(client);
        continue;
      }
      conns.add(client);
      clients++;
      track(
        (l.kind === "proxy" ? serveProxy(client) : serveTunnel(client, l.destination))
          .catch(() => {})
          .finally(() => {
            safeClose(client);
            conns.delete(client);
            clients--;
          }),
      );
    }
  };
  const loops = listeners.map((listener, i) => acceptLoop(listener, opts.listeners[i]));

  let closed: Promise<void> | null = null;
  return {
    summary: () => structuredClone(summary),
    close() {
      closed ??= (async () => {
        closing.abort();
        for (const l of listeners) {
          try {
            l.close();
          } catch { /* already closed */ }
        }
        for (const c of conns) safeClose(c);
        await Promise.allSettled([...loops, ...tasks]);
        await Deno.remove(opts.socketDir, { recursive: true }).catch(() => {});
      })();
      return closed;
    },
  };
}
