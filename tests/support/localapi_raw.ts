/**
 * @module
 * Raw-bytes helpers for LocalAPI wire tests: a unix-socket server that records exactly what a
 * client sent and answers with canned bytes (or hangs, or hangs up), and a raw client that sends
 * exactly the bytes a test wants. Neither parses HTTP, so tests built on them check the real
 * wire format rather than one parser against itself.
 *
 * @example
 * ```ts
 * import { rawRequest, startRawServer } from "./localapi_raw.ts";
 * const srv = await startRawServer(() => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
 * // ... client under test connects to srv.socketPath; srv.received[0] is its request text
 * await srv.stop();
 * const text = await rawRequest("/path/to.sock", "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
 * ```
 */

/** What the canned server does with one connection: reply bytes, `"hang"`, or `"close"`. */
export type RawReply = string | Uint8Array | "hang" | "close";

/** A running raw server. */
export interface RawServer {
  socketPath: string;
  /** Request heads received (text up to and including the blank line), in order. */
  received: string[];
  stop(): Promise<void>;
}

/** Start a unix-socket server; `reply` sees the request head text. */
export async function startRawServer(reply: (head: string) => RawReply): Promise<RawServer> {
  const dir = await Deno.makeTempDir({ prefix: "localapi-raw-" });
  const socketPath = `${dir}/tailscaled.sock`;
  const listener = Deno.listen({ transport: "unix", path: socketPath });
  const received: string[] = [];
  const open = new Set<Deno.Conn>();
  const handlers: Promise<void>[] = [];

  const handle = async (conn: Deno.Conn) => {
    open.add(conn);
    try {
      let head = "";
      const buf = new Uint8Array(4096);
      while (!head.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        if (n === null) return;
        head += new TextDecoder().decode(buf.subarray(0, n));
      }
      received.push(head);
      const r = reply(head);
      if (r === "hang") {
        // Wait for the peer to give up (read returns null or throws when closed).
        while ((await conn.read(buf)) !== null) { /* discard */ }
        return;
      }
      if (r === "close") return;
      const bytes = typeof r === "string" ? new TextEncoder().encode(r) : r;
      let at = 0;
      while (at < bytes.length) at += await conn.write(bytes.subarray(at));
    } catch {
      // client went away
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
    }
  };

  const accepting = (async () => {
    try {
      for await (const conn of listener) handlers.push(handle(conn));
    } catch { /* listener closed */ }
  })();

  return {
    socketPath,
    received,
    async stop() {
      listener.close();
      await accepting;
      for (const c of open) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await Promise.all(handlers);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Send `request` verbatim over a unix socket (a path) or to loopback TCP (a port) and return
 * everything the server answered until it closed.
 */
export async function rawRequest(target: string | number, request: string): Promise<string> {
  const conn = typeof target === "string"
    ? await Deno.connect({ transport: "unix", path: target })
    : await Deno.connect({ hostname: "127.0.0.1", port: target });
  try {
    const bytes = new TextEncoder().encode(request);
    let at = 0;
    while (at < bytes.length) at += await conn.write(bytes.subarray(at));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(16384);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return new TextDecoder().decode(out);
  } finally {
    conn.close();
  }
}

/** Split a raw HTTP/1.1 response into status, lower-cased headers and body text (no de-chunking). */
export function splitRawResponse(
  text: string,
): { status: number; headers: Record<string, string>; body: string } {
  const at = text.indexOf("\r\n\r\n");
  const head = text.slice(0, at).split("\r\n");
  const status = Number(head[0].split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(":");
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status, headers, body: text.slice(at + 4) };
}
