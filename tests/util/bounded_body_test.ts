/**
 * @module
 * `readBoundedBytes`: whole bodies up to the limit, `null` past it (the stream cancelled), for
 * byte streams (read into its own buffer) and plain chunk streams alike, and for real fetch and
 * serve bodies of every size around the buffer's growth steps.
 */
import assert from "node:assert/strict";
import { readBoundedBytes } from "../../src/util/bounded_body.ts";

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);

/** A byte stream (BYOB-capable) of `data` in `piece`-sized enqueues. */
function byteStream(data: Uint8Array, piece: number, onCancel?: () => void) {
  let at = 0;
  return new ReadableStream({
    type: "bytes",
    pull(c) {
      if (at >= data.length) {
        c.close();
        return c.byobRequest?.respond(0); // a pending BYOB read learns of the end
      }
      c.enqueue(data.slice(at, at + piece));
      at += piece;
    },
    cancel: () => onCancel?.(),
  });
}

Deno.test("readBoundedBytes: byte and chunk streams, at, under and over the limit", async () => {
  for (const n of [0, 1, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 100_000]) {
    const data = bytes(n);
    assert.deepEqual(await readBoundedBytes(byteStream(data, 7000), n), data, `bytes ${n}`);
    assert.deepEqual(await readBoundedBytes(ReadableStream.from([data]), n), data, `chunks ${n}`);
    if (n > 0) {
      let cancelled = false;
      const over = byteStream(data, 1000, () => cancelled = true);
      assert.equal(await readBoundedBytes(over, n - 1), null, `over ${n}`);
      assert.ok(cancelled, `cancelled ${n}`);
      assert.equal(await readBoundedBytes(ReadableStream.from([data]), n - 1), null);
    }
  }
  assert.deepEqual(await readBoundedBytes(null, 10), new Uint8Array());
});

Deno.test("readBoundedBytes: real fetch and serve bodies", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const got = await readBoundedBytes(req.body, 300_000);
    if (got === null) return new Response("too large", { status: 413 });
    return new Response(got.slice().buffer as ArrayBuffer);
  });
  try {
    const url = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/`;
    for (const n of [0, 10, 40_000, 300_000, 300_001]) {
      const data = bytes(n);
      const res = await fetch(url, { method: "POST", body: data });
      const body = await readBoundedBytes(res.body, 1_000_000);
      if (n <= 300_000) assert.deepEqual(body, data, `${n}`);
      else assert.equal(res.status, 413);
    }
  } finally {
    await server.shutdown();
  }
});
