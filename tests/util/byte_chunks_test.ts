/**
 * @module
 * `byteChunks`: every byte in order from byte and chunk streams; one reused buffer for a byte
 * stream; a signal cancels the body even while a read waits; leaving early cancels it too.
 */
import assert from "node:assert/strict";
import { byteChunks } from "../../src/util/byte_chunks.ts";

Deno.test("byteChunks: all bytes in order; a byte stream is read into one reused buffer", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      new Response(ReadableStream.from((async function* () {
        for (let i = 0; i < 50; i++) {
          yield new TextEncoder().encode(`line ${i}\n`);
          await new Promise((r) => setTimeout(r, 1));
        }
      })())),
  );
  try {
    const res = await fetch(`http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/`);
    let text = "";
    const sizes = new Set<number>();
    const decoder = new TextDecoder();
    for await (const chunk of byteChunks(res.body!, { bufferBytes: 4096 })) {
      sizes.add(chunk.buffer.byteLength); // read now: the next read takes the memory back
      text += decoder.decode(chunk, { stream: true });
    }
    assert.equal(text, Array.from({ length: 50 }, (_, i) => `line ${i}\n`).join(""));
    // Every chunk lies in the 4 KiB buffer handed to the BYOB reader: no fresh 64 KiB per read.
    assert.deepEqual([...sizes], [4096]);
  } finally {
    await server.shutdown();
  }
  const plain = ReadableStream.from([new Uint8Array([1, 2]), new Uint8Array([3])]);
  const got: number[] = [];
  for await (const c of byteChunks(plain)) got.push(...c);
  assert.deepEqual(got, [1, 2, 3]);
});

Deno.test("byteChunks: a signal ends a waiting read and cancels the body; so does leaving early", async () => {
  let cancelled = 0;
  const never = () =>
    new ReadableStream<Uint8Array>({
      type: "bytes",
      start(c) {
        c.enqueue(new Uint8Array([7]));
      },
      cancel: () => void cancelled++,
    });
  const ctl = new AbortController();
  const seen: number[] = [];
  const loop = (async () => {
    for await (const c of byteChunks(never(), { signal: ctl.signal })) seen.push(...c);
  })();
  await new Promise((r) => setTimeout(r, 10));
  ctl.abort();
  await loop;
  assert.deepEqual(seen, [7]);
  assert.equal(cancelled, 1);
  for await (const _ of byteChunks(never())) break;
  assert.equal(cancelled, 2);
});
