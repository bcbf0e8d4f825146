/**
 * @module
 * A raw HTTP/1.1 client for abuse tests: sends exactly the bytes given (request line, headers,
 * body; invalid UTF-8, odd methods, un-normalised paths that `fetch` would clean up) over a
 * fresh TCP connection and reads the answer until the server closes it.
 *
 * @example
 * ```ts
 * import { rawHttp, rawRequestBytes } from "./raw_http.ts";
 * const r = await rawHttp("127.0.0.1", 7433, rawRequestBytes("GET", "/v1/tasks/..%2f..", {}));
 * r.status; // 400
 * ```
 */

/** An answer as read off the wire. */
export interface RawAnswer {
  /** 0 when nothing parseable came back. */
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
  /** The body as text (lossy). */
  text: string;
}

const enc = new TextEncoder();

/** Builds request bytes; `path` may hold any bytes (pass a Uint8Array for invalid UTF-8). */
export function rawRequestBytes(
  method: string,
  path: string | Uint8Array,
  headers: Record<string, string>,
  body?: Uint8Array | string,
): Uint8Array {
  const bodyBytes = typeof body === "string" ? enc.encode(body) : body;
  const head: string[] = [];
  const hs: Record<string, string> = { connection: "close", ...headers };
  if (
    bodyBytes !== undefined && !Object.keys(hs).some((k) => k.toLowerCase() === "content-length")
  ) {
    hs["content-length"] = String(bodyBytes.length);
  }
  for (const [k, v] of Object.entries(hs)) head.push(`${k}: ${v}\r\n`);
  const pathBytes = typeof path === "string" ? enc.encode(path) : path;
  const parts = [
    enc.encode(`${method} `),
    pathBytes,
    enc.encode(` HTTP/1.1\r\n${head.join("")}\r\n`),
    bodyBytes ?? new Uint8Array(),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function indexOf(hay: Uint8Array, needle: number[], from = 0): number {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function dechunk(body: Uint8Array): Uint8Array {
  const out: number[] = [];
  let at = 0;
  for (;;) {
    const eol = indexOf(body, [13, 10], at);
    if (eol < 0) break;
    const size = parseInt(new TextDecoder().decode(body.subarray(at, eol)), 16);
    if (!(size > 0)) break;
    out.push(...body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return new Uint8Array(out);
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

/** True when the bytes hold a full answer: head plus Content-Length bytes, or a last chunk. */
function answerComplete(chunks: Uint8Array[], total: number): boolean {
  const all = concat(chunks, total);
  const end = indexOf(all, [13, 10, 13, 10]);
  if (end < 0) return false;
  const head = new TextDecoder().decode(all.subarray(0, end)).toLowerCase();
  const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (length) return all.length - (end + 4) >= Number(length[1]);
  if (/\r\ntransfer-encoding:\s*chunked/.test(head)) {
    return indexOf(all, [13, 10, 48, 13, 10, 13, 10], end) >= 0 ||
      indexOf(all, [48, 13, 10, 13, 10], end + 4) === end + 4;
  }
  return false;
}

/** Sends `request` to `host:port` and reads the whole answer (bounded by `timeoutMs`). */
export async function rawHttp(
  host: string,
  port: number,
  request: Uint8Array,
  timeoutMs = 10_000,
): Promise<RawAnswer> {
  const conn = await Deno.connect({ hostname: host, port });
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  }, timeoutMs);
  const chunks: Uint8Array[] = [];
  try {
    let written = 0;
    while (written < request.length) written += await conn.write(request.subarray(written));
    const buf = new Uint8Array(64 * 1024);
    let total = 0;
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
      total += n;
      // Stop once a whole answer is in (the server may keep the connection open, e.g. when it
      // answered before reading a body it was promised).
      if (answerComplete(chunks, total)) break;
    }
  } catch {
    // A reset after the answer (the server closed early, e.g. on an oversized body) is fine.
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
  const all = concat(chunks, chunks.reduce((n, c) => n + c.length, 0));
  const end = indexOf(all, [13, 10, 13, 10]);
  if (end < 0) return { status: 0, headers: {}, body: all, text: new TextDecoder().decode(all) };
  const [statusLine, ...lines] = new TextDecoder().decode(all.subarray(0, end)).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(":");
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body: Uint8Array = all.subarray(end + 4);
  if (headers["transfer-encoding"]?.toLowerCase() === "chunked") body = dechunk(body);
  return { status, headers, body, text: new TextDecoder().decode(body) };
}
