/**
 * @module
 * Reads an HTTP body up to a byte limit while it arrives: the read stops (and the stream is
 * cancelled) as soon as the limit is passed, so a sender cannot make the reader hold more
 * than `maxBytes` however much it sends.
 *
 * @example
 * ```ts
 * import { readBoundedBytes } from "./bounded_body.ts";
 * const res = await fetch("http://127.0.0.1:7434/v1/status");
 * const bytes = await readBoundedBytes(res.body, 8 * 1024 * 1024);
 * if (bytes === null) console.log("too large");
 * ```
 */

/**
 * The body's bytes, or `null` (stream cancelled) once it is longer than `maxBytes`.
 *
 * Read into a buffer of its own (a BYOB reader, doubling from 16 KiB) where the stream allows it:
 * the default reader of Deno's fetch and serve bodies hands out a fresh 64 KiB chunk per read, so
 * a burst of a thousand small answers left 64 MiB of buffers for the garbage collector.
 *
 * @example
 * ```ts
 * const res = await fetch("http://127.0.0.1:7434/v1/status");
 * await readBoundedBytes(res.body, 1024 * 1024); // the bytes, or null when over 1 MiB
 * ```
 */
export async function readBoundedBytes(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<Uint8Array | null> {
  if (!body) return new Uint8Array();
  let byob: ReadableStreamBYOBReader;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    return await readChunks(body, maxBytes); // not a byte stream
  }
  let buf = new Uint8Array(Math.min(16 * 1024, maxBytes + 1));
  let len = 0;
  try {
    for (;;) {
      if (len === buf.length) {
        const next = new Uint8Array(Math.min(buf.length * 2, maxBytes + 1));
        next.set(buf);
        buf = next;
      }
      // The read takes `buf`'s memory and hands it back as `value` (the part it filled).
      const { done, value } = await byob.read(buf.subarray(len));
      if (!value) return null; // the stream was cancelled under us
      buf = new Uint8Array(value.buffer);
      if (done) break;
      len += value.byteLength;
      if (len > maxBytes) {
        await byob.cancel().catch(() => {});
        return null;
      }
    }
  } finally {
    byob.releaseLock();
  }
  return buf.slice(0, len);
}

/** {@link readBoundedBytes} for a stream of chunks (not bytes). */
async function readChunks(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<Uint8Array | null> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        return null;
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}
