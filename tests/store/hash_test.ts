/**
 * @module
 * The daemons' SHA-256 (`@noble/hashes`) is the same function as the native one `cmesh audit
 * verify` uses (`node:crypto`): standard vectors, and random text of every kind (empty, ASCII,
 * multi-byte, lone surrogates, long).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha256Hex } from "../../src/store/hash.ts";

const native = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

Deno.test("sha256Hex: the standard test vectors", () => {
  assert.equal(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(
    sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assert.equal(
    sha256Hex("a".repeat(1_000_000)),
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  );
});

Deno.test("sha256Hex agrees with node:crypto on random text of every kind", () => {
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pools = [
    () => String.fromCharCode(32 + Math.floor(next() * 95)),
    () => String.fromCodePoint(0x80 + Math.floor(next() * 0x780)),
    () => String.fromCodePoint(0x1f300 + Math.floor(next() * 0x300)),
    () => String.fromCharCode(0xd800 + Math.floor(next() * 0x800)), // a lone surrogate
    () => "\0",
  ];
  for (let i = 0; i < 500; i++) {
    const length = Math.floor(next() * (i % 50 === 0 ? 5000 : 200));
    let text = "";
    for (let j = 0; j < length; j++) text += pools[Math.floor(next() * pools.length)]();
    assert.equal(sha256Hex(text), native(text), JSON.stringify(text.slice(0, 40)));
  }
});
