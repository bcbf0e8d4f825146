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

/** The body's bytes, or `null` (stream cancelled) once it is longer than `maxBytes`. */
export async function readBoundedBytes(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<Uint8Array | null> {
  if (!body) return new Uint8Array();
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
