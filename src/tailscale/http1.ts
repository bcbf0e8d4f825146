/**
 * @module
 * A minimal, bounded HTTP/1.1 client for one request over an already-open `Deno.Conn`
 * (unix socket or loopback TCP). Exists because the LocalAPI needs things `fetch` does not give:
 * an origin-form request line with `Host: local-tailscaled.sock` over a unix socket, and hard
 * limits on what we read from the other side.
 *
 * Supports: `Content-Length`, `Transfer-Encoding: chunked` (Go's net/http chunks any response it
 * did not buffer whole, i.e. over 2 KiB), and read-to-EOF bodies; skips interim 1xx responses.
 * Always sends `Connection: close`; one request per connection.
 *
 * @example
 * ```ts
 * import { http1Exchange } from "./http1.ts";
 * const conn = await Deno.connect({ transport: "unix", path: "/var/run/tailscale/tailscaled.sock" });
 * try {
 *   const res = await http1Exchange(conn, {
 *     method: "GET",
 *     target: "/localapi/v0/status",
 *     headers: [["Host", "local-tailscaled.sock"]],
 *   }, { maxBodyBytes: 4 << 20 });
 *   console.log(res.status, new TextDecoder().decode(res.body));
 * } finally {
 *   conn.close();
 * }
 * ```
 */
import { CmeshError } from "../protocol/errors.ts";

/** One request to write. Header names and values must not contain CR/LF. */
export interface Http1Request {
  method: "GET" | "HEAD" | "POST";
  /** Origin-form target: path plus optional query, e.g. `/localapi/v0/whois?addr=...`. */
  target: string;
  /** Headers in order; `Connection: close` is added. */
  headers: Array<[string, string]>;
}

/** The parsed response; the body is fully read and de-chunked. */
export interface Http1Response {
  status: number;
  statusText: string;
  headers: Headers;
  body: Uint8Array;
}

/** Read limits. */
export interface Http1Limits {
  /** Most body bytes accepted (after de-chunking). */
  maxBodyBytes: number;
  /** Most bytes for the status line plus headers. Default 64 KiB. */
  maxHeaderBytes?: number;
}

/** Why an exchange failed on the HTTP level. */
export type Http1ErrorKind = "too_large" | "malformed" | "closed";

/** An HTTP-level failure: the peer sent too much, sent garbage, or hung up early. */
export class Http1Error extends CmeshError<Http1ErrorKind> {
  /** What went wrong (the `code`). */
  get kind(): Http1ErrorKind {
    return this.code;
  }
  constructor(kind: Http1ErrorKind, message: string) {
    super(kind, message);
  }
}

const CRLF_SAFE = /^[^\r\n]*$/;

/** Collects body bytes without quadratic copying, enforcing the limit as it goes. */
class ByteSink {
  #chunks: Uint8Array[] = [];
  #total = 0;
  constructor(private readonly max: number) {}
  push(chunk: Uint8Array): void {
    this.#total += chunk.length;
    if (this.#total > this.max) {
      throw new Http1Error("too_large", `response body exceeds ${this.max} bytes`);
    }
    this.#chunks.push(chunk);
  }
  get length(): number {
    return this.#total;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#total);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** Buffered reading over a connection: lines for the head, exact/until-EOF for bodies. */
class ConnReader {
  #pending = new Uint8Array(0);
  #eof = false;
  constructor(private readonly conn: Deno.Conn) {}

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(16 * 1024);
    const n = await this.conn.read(chunk);
    if (n === null) {
      this.#eof = true;
      return false;
    }
    const merged = new Uint8Array(this.#pending.length + n);
    merged.set(this.#pending);
    merged.set(chunk.subarray(0, n), this.#pending.length);
    this.#pending = merged;
    return true;
  }

  /** One line without its CRLF (bare LF accepted, as Go does). */
  async readLine(max: number, what: string): Promise<string> {
    for (;;) {
      const lf = this.#pending.indexOf(0x0a);
      if (lf !== -1) {
        if (lf > max) throw new Http1Error("too_large", `${what} longer than ${max} bytes`);
        const end = lf > 0 && this.#pending[lf - 1] === 0x0d ? lf - 1 : lf;
        const line = new TextDecoder().decode(this.#pending.subarray(0, end));
        this.#pending = this.#pending.subarray(lf + 1);
        return line;
      }
      if (this.#pending.length > max) {
        throw new Http1Error("too_large", `${what} longer than ${max} bytes`);
      }
      if (!(await this.#fill())) {
        throw new Http1Error("closed", `connection closed while reading ${what}`);
      }
    }
  }

  /** Exactly `n` bytes into `sink`. */
  async readExact(n: number, sink: ByteSink, what: string): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#pending.length === 0 && !(await this.#fill())) {
        throw new Http1Error(
          "closed",
          `connection closed with ${left} of ${n} ${what} bytes unread`,
        );
      }
      const take = Math.min(left, this.#pending.length);
      sink.push(this.#pending.slice(0, take));
      this.#pending = this.#pending.subarray(take);
      left -= take;
    }
  }

  /** Up to `max` bytes as they arrive (at least one), or null at EOF. */
  async readSome(max: number): Promise<Uint8Array | null> {
    if (this.#pending.length === 0 && !(await this.#fill())) return null;
    const take = Math.min(max, this.#pending.length);
    const out = this.#pending.slice(0, take);
    this.#pending = this.#pending.subarray(take);
    return out;
  }

  /** Everything until the peer closes. */
  async readToEnd(sink: ByteSink): Promise<void> {
    for (;;) {
      if (this.#pending.length > 0) {
        sink.push(this.#pending.slice());
        this.#pending = new Uint8Array(0);
      }
      if (!(await this.#fill())) return;
    }
  }
}

/** Write all of `bytes` (Deno.Conn.write may write partially). */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

/** Serialise the request head; rejects header injection. */
export function encodeRequestHead(req: Http1Request): Uint8Array {
  if (!/^\/[\x21-\x7e]*$/.test(req.target)) {
    throw new TypeError(`invalid request target: ${JSON.stringify(req.target)}`);
  }
  const lines = [`${req.method} ${req.target} HTTP/1.1`];
  for (const [name, value] of req.headers) {
    if (!/^[A-Za-z0-9-]+$/.test(name) || !CRLF_SAFE.test(value)) {
      throw new TypeError(`invalid header ${JSON.stringify(name)}`);
    }
    lines.push(`${name}: ${value}`);
  }
  lines.push("Connection: close", "", "");
  return new TextEncoder().encode(lines.join("\r\n"));
}

/** Parse the status line and header block. */
async function readHead(
  reader: ConnReader,
  maxHeaderBytes: number,
): Promise<{ status: number; statusText: string; headers: Headers }> {
  let budget = maxHeaderBytes;
  const statusLine = await reader.readLine(budget, "status line");
  budget -= statusLine.length + 2;
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) {
    throw new Http1Error(
      "malformed",
      `not an HTTP/1.x status line: ${JSON.stringify(statusLine.slice(0, 80))}`,
    );
  }
  const headers = new Headers();
  for (;;) {
    if (budget <= 0) throw new Http1Error("too_large", `headers exceed ${maxHeaderBytes} bytes`);
    const line = await reader.readLine(budget, "headers");
    budget -= line.length + 2;
    if (line === "") break;
    const colon = line.indexOf(":");
    if (colon <= 0 || line[0] === " " || line[0] === "\t") {
      throw new Http1Error("malformed", `bad header line: ${JSON.stringify(line.slice(0, 80))}`);
    }
    try {
      headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
    } catch {
      throw new Http1Error("malformed", `bad header line: ${JSON.stringify(line.slice(0, 80))}`);
    }
  }
  return { status: Number(m[1]), statusText: m[2] ?? "", headers };
}

/** Read a chunked body into `sink`, discarding trailers. */
async function readChunked(reader: ConnReader, sink: ByteSink): Promise<void> {
  for (;;) {
    const sizeLine = await reader.readLine(1024, "chunk size");
    const sizeText = sizeLine.split(";")[0].trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) {
      throw new Http1Error("malformed", `bad chunk size: ${JSON.stringify(sizeLine.slice(0, 40))}`);
    }
    const size = parseInt(sizeText, 16);
    if (size === 0) break;
    if (sink.length + size > Number.MAX_SAFE_INTEGER) throw new Http1Error("too_large", "chunk");
    await reader.readExact(size, sink, "chunk");
    const end = await reader.readLine(2, "chunk end");
    if (end !== "") throw new Http1Error("malformed", "chunk not followed by CRLF");
  }
  for (let i = 0; i < 64; i++) {
    if ((await reader.readLine(8192, "trailer")) === "") return;
  }
  throw new Http1Error("malformed", "too many trailer lines");
}

/**
 * Writes the request head and reads the final response head (skipping interim 1xx responses:
 * 100 Continue, 103 Early Hints), for both the whole-body and the streaming exchange.
 */
async function sendAndReadHead(conn: Deno.Conn, req: Http1Request, maxHeaderBytes = 64 * 1024) {
  await writeAll(conn, encodeRequestHead(req));
  const reader = new ConnReader(conn);
  let head = await readHead(reader, maxHeaderBytes);
  for (let i = 0; head.status >= 100 && head.status < 200 && head.status !== 101; i++) {
    if (i >= 8) throw new Http1Error("malformed", "too many interim 1xx responses");
    head = await readHead(reader, maxHeaderBytes);
  }
  return { reader, head };
}

/**
 * Send one request on `conn` and read the full response, within `limits`. The caller owns the
 * connection (and closes it, which is also how a timeout interrupts a pending read).
 *
 * @throws {Http1Error} too large, malformed, or closed early.
 */
export async function http1Exchange(
  conn: Deno.Conn,
  req: Http1Request,
  limits: Http1Limits,
): Promise<Http1Response> {
  const { reader, head } = await sendAndReadHead(conn, req, limits.maxHeaderBytes);
  const sink = new ByteSink(limits.maxBodyBytes);
  const noBody = req.method === "HEAD" || head.status === 204 || head.status === 304;
  const te = head.headers.get("transfer-encoding");
  const cl = head.headers.get("content-length");
  if (noBody) {
    // nothing to read
  } else if (te !== null) {
    if (te.toLowerCase() !== "chunked") {
      throw new Http1Error("malformed", `unsupported Transfer-Encoding: ${te}`);
    }
    await readChunked(reader, sink);
  } else if (cl !== null) {
    // Headers joins repeats with ", "; differing repeats are a smuggling smell.
    const values = new Set(cl.split(",").map((v) => v.trim()));
    const [only] = values;
    if (values.size !== 1 || !/^\d{1,15}$/.test(only)) {
      throw new Http1Error("malformed", `bad Content-Length: ${JSON.stringify(cl.slice(0, 40))}`);
    }
    const n = Number(only);
    if (n > limits.maxBodyBytes) {
      throw new Http1Error("too_large", `response body exceeds ${limits.maxBodyBytes} bytes`);
    }
    await reader.readExact(n, sink, "body");
  } else {
    await reader.readToEnd(sink);
  }
  return {
    status: head.status,
    statusText: head.statusText,
    headers: head.headers,
    body: sink.bytes(),
  };
}

/** A response whose body is read as it arrives (a long-lived stream such as the IPN bus). */
export interface Http1StreamResponse {
  status: number;
  statusText: string;
  headers: Headers;
  /** The de-chunked body, piece by piece; ends when the server ends it or closes. */
  body: AsyncGenerator<Uint8Array>;
}

/**
 * Send one request on `conn` and read only the response head; the body is read lazily through
 * `body`. Chunked, Content-Length and read-to-EOF bodies are supported. The caller owns the
 * connection (closing it ends a pending read).
 *
 * @throws {Http1Error} a malformed or oversize head, or the connection closed before it.
 */
export async function http1OpenStream(
  conn: Deno.Conn,
  req: Http1Request,
  limits: { maxHeaderBytes?: number } = {},
): Promise<Http1StreamResponse> {
  const { reader, head } = await sendAndReadHead(conn, req, limits.maxHeaderBytes);
  const te = head.headers.get("transfer-encoding");
  const cl = head.headers.get("content-length");
  if (te !== null && te.toLowerCase() !== "chunked") {
    throw new Http1Error("malformed", `unsupported Transfer-Encoding: ${te}`);
  }
  if (te === null && cl !== null && !/^\d{1,15}$/.test(cl.trim())) {
    throw new Http1Error("malformed", `bad Content-Length: ${JSON.stringify(cl.slice(0, 40))}`);
  }
  const PIECE = 64 * 1024;
  async function* chunked(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const sizeLine = await reader.readLine(1024, "chunk size");
      const sizeText = sizeLine.split(";")[0].trim();
      if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) {
        throw new Http1Error(
          "malformed",
          `bad chunk size: ${JSON.stringify(sizeLine.slice(0, 40))}`,
        );
      }
      let left = parseInt(sizeText, 16);
      if (left === 0) return;
      while (left > 0) {
        const piece = await reader.readSome(Math.min(left, PIECE));
        if (piece === null) throw new Http1Error("closed", "connection closed inside a chunk");
        left -= piece.length;
        yield piece;
      }
      if ((await reader.readLine(2, "chunk end")) !== "") {
        throw new Http1Error("malformed", "chunk not followed by CRLF");
      }
    }
  }
  async function* sized(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      const piece = await reader.readSome(Math.min(left, PIECE));
      if (piece === null) throw new Http1Error("closed", "connection closed inside the body");
      left -= piece.length;
      yield piece;
    }
  }
  async function* toEnd(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const piece = await reader.readSome(PIECE);
      if (piece === null) return;
      yield piece;
    }
  }
  const body = te !== null ? chunked() : cl !== null ? sized(Number(cl.trim())) : toEnd();
  return { status: head.status, statusText: head.statusText, headers: head.headers, body };
}
