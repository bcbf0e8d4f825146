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
import { byteChunks } from "./byte_chunks.ts";

/**
 * The body's bytes, or `null` (stream cancelled) once it is longer than `maxBytes`.
 *
 * Read through {@link byteChunks} (into a buffer of its own where the stream allows it: the
 * default reader of Deno's fetch and serve bodies hands out a fresh 64 KiB chunk per read, so a
 * burst of a thousand small answers left 64 MiB of buffers for the garbage collector) and copied
 * into one that doubles as needed.
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
  let out = new Uint8Array(Math.min(16 * 1024, maxBytes));
  let len = 0;
  for await (const chunk of byteChunks(body)) {
    if (len + chunk.byteLength > maxBytes) return null; // leaving the loop cancels the body
    if (len + chunk.byteLength > out.length) {
      const grown = new Uint8Array(
        Math.min(Math.max(out.length * 2, len + chunk.byteLength), maxBytes),
      );
      grown.set(out.subarray(0, len));
      out = grown;
    }
    out.set(chunk, len);
    len += chunk.byteLength;
  }
  return out.slice(0, len);
}
