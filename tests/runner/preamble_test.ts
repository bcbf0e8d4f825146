/**
 * @module
 * Tests for preamble.ts: the end marks are found across read boundaries, counted, and a look-alike
 * without the boundary or with a non-numeric code is not taken; past the cap the preamble's bytes
 * are dropped but the runner's output after it is still told apart; a stream that ends early says so.
 */
import assert from "node:assert/strict";
import { endMarkBytes, findEndMark, readPreamble } from "../../src/runner/preamble.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => b === null ? null : new TextDecoder().decode(b);

/** `rest` and whatever the iterator still holds, decoded. */
async function restOf(rest: Uint8Array, chunks: AsyncIterator<Uint8Array>) {
  let text = dec(rest)!;
  for (let r = await chunks.next(); !r.done; r = await chunks.next()) text += dec(r.value);
  return text;
}

/** Chunks of `text`, `size` bytes each. */
function pieces(text: string, size: number) {
  const bytes = enc(text);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size));
  return ReadableStream.from(chunks).values();
}

Deno.test("readPreamble: two marks, read one byte at a time, the rest is the runner's", async () => {
  const text = "status\0B7 0\0diff\0B7 1\0runner line\n";
  const reader = pieces(text, 1);
  const p = await readPreamble(reader, "B7", { marks: 2, maxBytes: 1024 });
  assert.equal(dec(p.body), "status\0B7 0\0diff\0B7 1\0");
  assert.equal(p.reason, null);
  assert.equal(await restOf(p.rest, reader), "runner line\n");
});

Deno.test("readPreamble: look-alike marks are skipped; an early end says so", async () => {
  const text = "a\0B8x 0\0b\0B8 zz\0c\0B8 0";
  const p = await readPreamble(pieces(text, 3), "B8", { marks: 1, maxBytes: 1024 });
  assert.equal(p.body, null);
  assert.match(p.reason ?? "", /ended before/);
  const reader = pieces(text + "\0rest", 5);
  const ok = await readPreamble(reader, "B8", { marks: 1, maxBytes: 1024 });
  assert.equal(dec(ok.body), "a\0B8x 0\0b\0B8 zz\0c\0B8 0\0");
  assert.equal(await restOf(ok.rest, reader), "rest");
});

Deno.test("readPreamble: over the cap the preamble is dropped, the runner's output still follows", async () => {
  const big = "x".repeat(10_000);
  const reader = pieces(`${big}\0B9 0\0after\n`, 333);
  const p = await readPreamble(reader, "B9", {
    marks: 1,
    maxBytes: 1000,
  });
  assert.equal(p.body, null);
  assert.match(p.reason ?? "", /over 1000 bytes/);
  assert.equal(await restOf(p.rest, reader), "after\n");
});

Deno.test("findEndMark: position, end and code; none without the whole mark", () => {
  const mark = endMarkBytes("b0b0");
  assert.deepEqual(findEndMark(enc("out\0b0b0 1\0x"), mark), { at: 3, end: 11, code: 1 });
  assert.equal(findEndMark(enc("out\0b0b0 1"), mark), null);
  assert.deepEqual(findEndMark(enc("\0b0b0 0\0\0b0b0 128\0"), mark, 8), {
    at: 8,
    end: 18,
    code: 128,
  });
});
