/**
 * @module
 * Tests for the pieces the supervisor is built from: line_stream.ts, util/byte_tail.ts and
 * util/utf8.ts.
 */
import assert from "node:assert/strict";
import { LineSplitter, LineStream } from "../../src/runner/line_stream.ts";
import { ByteTail } from "../../src/util/byte_tail.ts";
import { utf8ByteLength } from "../../src/util/utf8.ts";

Deno.test("LineSplitter: lines across chunks, CRLF, final line without newline", () => {
  const s = new LineSplitter(100);
  assert.deepEqual(s.push("a\nb"), [{ text: "a", cut: false }]);
  assert.deepEqual(s.push("c\r\n\nd"), [{ text: "bc", cut: false }, { text: "", cut: false }]);
  assert.deepEqual(s.flush(), [{ text: "d", cut: false }]);
  assert.deepEqual(s.flush(), []);
});

Deno.test("LineSplitter: long lines are cut, flagged, and never buffered beyond the cap", () => {
  const s = new LineSplitter(5);
  assert.deepEqual(s.push("0123456789\nok\n"), [
    { text: "01234", cut: true },
    { text: "ok", cut: false },
  ]);
  for (let i = 0; i < 1000; i++) assert.deepEqual(s.push("abcdefgh"), []);
  assert.deepEqual(s.push("\n"), [{ text: "abcde", cut: true }]);
  assert.equal(s.peakPendingChars, 5);
  assert.equal(s.cutLines, 2);
  assert.throws(() => new LineSplitter(0), RangeError);
});

Deno.test("LineStream is a TransformStream of lines", async () => {
  const lines = await Array.fromAsync(
    ReadableStream.from(["one\ntw", "o\nthree"]).pipeThrough(new LineStream({ maxLineChars: 4 })),
  );
  assert.deepEqual(lines, [
    { text: "one", cut: false },
    { text: "two", cut: false },
    { text: "thre", cut: true },
  ]);
});

Deno.test("ByteTail keeps exactly the last bytes and skips a cut UTF-8 sequence", () => {
  const t = new ByteTail(5);
  const enc = new TextEncoder();
  t.write(enc.encode("abc"));
  assert.equal(t.text(), "abc");
  assert.equal(t.overflowed, false);
  t.write(enc.encode("defg"));
  assert.equal(t.text(), "cdefg");
  t.write(enc.encode("0123456789"));
  assert.equal(t.text(), "56789");
  assert.equal(t.totalBytes, 17);
  const u = new ByteTail(4);
  u.write(enc.encode("xé€")); // x, é (2 bytes), € (3 bytes): the tail starts inside é
  assert.equal(u.text(), "€");
  assert.equal(new ByteTail(0).text(), "");
});

Deno.test("utf8ByteLength matches TextEncoder", () => {
  for (const s of ["", "abc", "é", "€", "😀", "a\uD800b", "mixé€😀"]) {
    assert.equal(utf8ByteLength(s), new TextEncoder().encode(s).length, s);
  }
});
