// Tests for src/util/canonical_json.ts. They live under tests/store/ because the store owns
// that module for now; move them to tests/util/ when another layer starts using it.
import assert from "node:assert/strict";
import { canonicalJson } from "../../src/util/canonical_json.ts";

Deno.test("canonicalJson sorts keys recursively and writes no whitespace", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" } }),
    '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
  );
});

Deno.test("canonicalJson gives the same text whatever the key order", () => {
  assert.equal(
    canonicalJson({ x: 1, y: [1, 2], z: null }),
    canonicalJson({ z: null, y: [1, 2], x: 1 }),
  );
});

Deno.test("canonicalJson orders keys by UTF-16 code units, integer-like keys included", () => {
  // JavaScript iterates "9" before "10"; canonical order is by string, so "10" < "9".
  assert.equal(
    canonicalJson({ "9": 1, "10": 2, "B": 3, "a": 4, "é": 5 }),
    '{"10":2,"9":1,"B":3,"a":4,"é":5}',
  );
});

Deno.test("canonicalJson leaves out undefined object properties", () => {
  assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
});

Deno.test("canonicalJson writes scalars like JSON.stringify", () => {
  assert.equal(canonicalJson(null), "null");
  assert.equal(canonicalJson(true), "true");
  assert.equal(canonicalJson(1e21), "1e+21");
  assert.equal(canonicalJson(-0), "0");
  assert.equal(canonicalJson(0.1), "0.1");
  assert.equal(canonicalJson('q"\\\n\u0001é'), JSON.stringify('q"\\\n\u0001é'));
  assert.equal(canonicalJson([]), "[]");
  assert.equal(canonicalJson({}), "{}");
});

Deno.test("canonicalJson accepts null-prototype objects", () => {
  const o = Object.create(null);
  o.b = 2;
  o.a = 1;
  assert.equal(canonicalJson(o), '{"a":1,"b":2}');
});

Deno.test("canonicalJson throws on non-finite numbers, naming the path", () => {
  assert.throws(() => canonicalJson({ a: [1, NaN] }), /\$\.a\[1\]: number must be finite, got NaN/);
  assert.throws(() => canonicalJson(Infinity), /must be finite/);
  assert.throws(() => canonicalJson({ x: -Infinity }), /\$\.x/);
});

Deno.test("canonicalJson throws on values that are not JSON data", () => {
  assert.throws(() => canonicalJson(undefined), TypeError);
  assert.throws(() => canonicalJson([1, undefined]), /\$\[1\]: undefined/);
  assert.throws(() => canonicalJson({ a: 1n }), /bigint/);
  assert.throws(() => canonicalJson({ f: () => 1 }), /function/);
  assert.throws(() => canonicalJson({ s: Symbol("x") }), /symbol/);
  assert.throws(() => canonicalJson({ d: new Date(0) }), /Date is not a plain object/);
  assert.throws(() => canonicalJson(new Map()), /Map is not a plain object/);
});

Deno.test("canonicalJson throws on cycles but accepts shared references", () => {
  const shared = { k: 1 };
  assert.equal(canonicalJson({ a: shared, b: shared }), '{"a":{"k":1},"b":{"k":1}}');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => canonicalJson(cyclic), /\$\.self: cycle/);
});

Deno.test("canonicalJson output parses back to an equal value", () => {
  const value = { s: "x", n: [1, 2.5, -3], o: { t: true, f: false, z: null }, u: "\u2028🎉" };
  assert.deepEqual(JSON.parse(canonicalJson(value)), value);
});
