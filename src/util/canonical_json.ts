/**
 * @module
 * Canonical JSON: one byte string per JSON value, so that hashes of data (request hashes,
 * audit chain links) do not depend on key order or formatting.
 *
 * Rules: object keys sorted by UTF-16 code units (the order of `Array.prototype.sort`, as in
 * RFC 8785), recursively; no whitespace; object properties whose value is `undefined` are left
 * out; numbers must be finite; strings and numbers are written as `JSON.stringify` writes them.
 * Anything that is not plain JSON data (`undefined` outside an object property, functions,
 * symbols, bigints, `Date`, `Map`, class instances, cycles) throws a `TypeError`, because a
 * silent conversion would make two different inputs hash alike.
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./canonical_json.ts";
 * canonicalJson({ b: 1, a: [true, null, "x"], c: undefined }); // '{"a":[true,null,"x"],"b":1}'
 * ```
 */

/**
 * Serialises `value` as canonical JSON.
 *
 * @param value Plain JSON data: null, boolean, finite number, string, array, plain object.
 * @returns The canonical JSON text.
 * @throws {TypeError} on non-finite numbers, non-plain objects, `undefined` in arrays or at the
 * top level, bigints, functions, symbols and cycles. The message names the path, e.g. `$.a[2]`.
 *
 * @example
 * ```ts
 * canonicalJson({ z: { y: 2, x: 1 } }); // '{"z":{"x":1,"y":2}}'
 * canonicalJson({ n: NaN }); // throws TypeError: canonicalJson: $.n: number must be finite, got NaN
 * ```
 */
export function canonicalJson(value: unknown): string {
  return write(value, "$", new Set());
}

function write(value: unknown, path: string, seen: Set<object>): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) fail(path, `number must be finite, got ${value}`);
      return JSON.stringify(value);
    case "object":
      if (value === null) return "null";
      return writeObject(value, path, seen);
    default:
      return fail(path, `${typeof value} is not JSON data`);
  }
}

function writeObject(value: object, path: string, seen: Set<object>): string {
  if (seen.has(value)) fail(path, "cycle");
  seen.add(value);
  let out: string;
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item === undefined) fail(`${path}[${i}]`, "undefined is not JSON data");
      parts.push(write(item, `${path}[${i}]`, seen));
    }
    out = `[${parts.join(",")}]`;
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      fail(path, `${proto?.constructor?.name ?? "object"} is not a plain object`);
    }
    const record = value as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const item = record[key];
      if (item === undefined) continue;
      parts.push(`${JSON.stringify(key)}:${write(item, `${path}.${key}`, seen)}`);
    }
    out = `{${parts.join(",")}}`;
  }
  seen.delete(value);
  return out;
}

function fail(path: string, why: string): never {
  throw new TypeError(`canonicalJson: ${path}: ${why}`);
}
