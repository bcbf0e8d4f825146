/**
 * @module
 * Reads a body chunk by chunk into one buffer of its own (a BYOB reader) where the stream allows
 * it. Deno's fetch and serve bodies, read the default way, hand out a fresh 64 KiB buffer per
 * read: a long event stream of small messages left one per message for the garbage collector.
 *
 * @example
 * ```ts
 * import { byteChunks } from "./byte_chunks.ts";
 * const res = await fetch("http://127.0.0.1:7434/v1/tasks/t_0123456789/events");
 * const decoder = new TextDecoder();
 * for await (const chunk of byteChunks(res.body!)) console.log(decoder.decode(chunk, { stream: true }));
 * ```
 */

/**
 * The body's bytes as they arrive. Each chunk is valid only until the next one is asked for (the
 * buffer is reused). Leaving the loop early cancels the body; so does `signal`, at once, even
 * while a read waits (a fetch aborted after its headers arrived does not always stop its body).
 *
 * @example
 * ```ts
 * const chunks = byteChunks(ReadableStream.from([new Uint8Array([1, 2])]));
 * for await (const c of chunks) console.log(c.length); // 2
 * ```
 */
export async function* byteChunks(
  body: ReadableStream<Uint8Array>,
  opts: { signal?: AbortSignal; bufferBytes?: number } = {},
): AsyncGenerator<Uint8Array> {
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch { /* not a byte stream: its own chunks */ }
  const reader = byob ?? body.getReader();
  const onAbort = () => reader.cancel(opts.signal?.reason).catch(() => {});
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  let buffer = new ArrayBuffer(opts.bufferBytes ?? 16 * 1024);
  try {
    for (;;) {
      if (opts.signal?.aborted) return;
      const { done, value } = byob
        ? await byob.read(new Uint8Array(buffer))
        : await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
      if (done || !value) return;
      if (byob) buffer = value.buffer as ArrayBuffer;
      yield value;
    }
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    await reader.cancel().catch(() => {});
  }
}
