/**
 * @module
 * The HTTP side of the egress proxy: reading and checking one proxy request header (`CONNECT
 * host:port` or an absolute-form `http://` request), and the plain-text refusals it answers
 * with. Bounded: the header size and the wait for it.
 */
import {
  type Destination,
  destinationFromUrl,
  formatDestination,
  parseDestination,
} from "../../../util/destination.ts";
import type { EgressLimits } from "./proxy.ts";

/** A refused proxy request: the HTTP status, what was asked for, and why. */
export class Refusal extends Error {
  /**
   * @param status HTTP status of the answer
   * @param destination what was asked for (`host:port`, or `?`)
   * @param message which rule refused it, and why
   */
  constructor(readonly status: number, readonly destination: string, message: string) {
    super(message);
  }
}

/** Shared encoder. */
export const encoder = new TextEncoder();

/** A parsed proxy request: where to, and the bytes to forward first. */
export interface ProxyRequest {
  destination: Destination;
  connect: boolean;
  forward: Uint8Array;
}

/** Reads and checks the proxy request header of one client. */
export async function readRequest(
  client: Deno.Conn,
  limits: EgressLimits,
  allowed: ReadonlyMap<string, Destination>,
): Promise<ProxyRequest> {
  const buf = new Uint8Array(limits.maxHeaderBytes);
  let len = 0;
  let end = -1;
  const timer = setTimeout(() => safeClose(client), limits.headerTimeoutMs);
  try {
    while (end < 0) {
      if (len === buf.length) {
        throw new Refusal(431, "?", `request header over ${limits.maxHeaderBytes} bytes`);
      }
      const n = await client.read(buf.subarray(len)).catch(() => null);
      if (n === null) throw new Refusal(400, "?", "connection closed before a full request");
      len += n;
      end = indexOfHeaderEnd(buf.subarray(0, len));
    }
  } finally {
    clearTimeout(timer);
  }
  const header = new TextDecoder().decode(buf.subarray(0, end));
  const [requestLine, ...rest] = header.split("\r\n");
  const m = /^([A-Z]+) (\S+) (HTTP\/1\.[01])$/.exec(requestLine);
  if (!m) throw new Refusal(400, "?", "not an HTTP/1.x proxy request");
  const [, method, target, version] = m;
  let destination: Destination | null;
  if (method === "CONNECT") {
    try {
      destination = parseDestination(target);
    } catch (e) {
      throw new Refusal(400, target, `bad CONNECT target ${(e as Error).message}`);
    }
  } else {
    destination = target.startsWith("http://") ? destinationFromUrl(target) : null;
    if (destination === null) {
      throw new Refusal(
        400,
        target.slice(0, 200),
        "only CONNECT host:port or absolute http:// requests pass this proxy",
      );
    }
  }
  const key = formatDestination(destination);
  if (!allowed.has(key)) {
    const list = [...allowed.keys()].join(", ") || "none";
    throw new Refusal(
      403,
      key,
      `${key} is not an allowed model host of this run (egress "model" allows: ${list}); name it in the runner's egress_hosts to allow it`,
    );
  }
  const after = buf.slice(end + 4, len);
  if (method === "CONNECT") return { destination, connect: true, forward: after };
  // Absolute form → origin form for the server; the rest of the header passes unchanged.
  const url = new URL(target);
  const line = `${method} ${url.pathname}${url.search} ${version}`;
  const head = encoder.encode([line, ...rest].join("\r\n") + "\r\n\r\n");
  const forward = new Uint8Array(head.length + after.length);
  forward.set(head);
  forward.set(after, head.length);
  return { destination, connect: false, forward };
}

function indexOfHeaderEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

/** Answers a refusal in plain text and lets the caller close. */
export async function answer(client: Deno.Conn, status: number, message: string): Promise<void> {
  const text = `cmesh egress: ${message}\n`;
  const reason = { 400: "Bad Request", 403: "Forbidden", 431: "Header Too Large" }[status] ??
    "Bad Gateway";
  const body = encoder.encode(text);
  const head = `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\nX-Cmesh-Egress: refused\r\n\r\n`;
  await writeAll(client, encoder.encode(head)).catch(() => {});
  await writeAll(client, body).catch(() => {});
}

/** Writes all of `data`. */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

/** Closes `c`, ignoring an already closed one. */
export function safeClose(c: Deno.Conn): void {
  try {
    c.close();
  } catch { /* already closed */ }
}
