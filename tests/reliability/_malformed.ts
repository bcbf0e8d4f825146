/**
 * @module
 * Generators of malformed requests for the worker API, and the pieces the control API's
 * generator (`_malformed_control.ts`) shares (see `bad_input_test.ts`). Deterministic for a
 * seed. Every case is one that must be refused with a 4xx JSON error: invalid JSON, wrong
 * types, unknown or missing fields, huge bodies, deep nesting, invalid UTF-8, wrong methods
 * and content types, path tricks in ids, bad query values, and requests of the right shape
 * that policy denies (these may add audit records).
 *
 * A case is sent with `fetch` unless it needs bytes `fetch` would not send as given (an
 * un-normalised path, invalid UTF-8 in the request line, a forged Host): those are `raw`.
 */

/** One request to send. */
export interface BadCase {
  /** Generator name (failures are grouped by it). */
  kind: string;
  method: string;
  /** Path and query; a Uint8Array for raw bytes. */
  path: string | Uint8Array;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Send with the raw client (exact bytes), not `fetch`. */
  raw?: boolean;
  /**
   * Not valid HTTP/1.1 (an asterisk-form or non-ASCII request target): Deno's HTTP server
   * refuses it with a bare 400 before any cmesh code runs, so no JSON body can be expected.
   */
  httpLayer?: boolean;
}

/** A small seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const enc = new TextEncoder();
/** A random source in [0, 1). */
export type R = () => number;
/** A random element. */
export const pick = <T>(r: R, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
/** A random integer in [lo, hi]. */
export const int = (r: R, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
/** The JSON content type header. */
export const JSON_TYPE = { "content-type": "application/json" };

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Breaks valid JSON text so it no longer parses. */
function breakJson(r: R, text: string): string {
  for (let i = 0; i < 20; i++) {
    const at = int(r, 0, text.length);
    const broken = pick(r, [
      () => text.slice(0, at),
      () =>
        text.slice(0, at) + pick(r, ["{", "}", "[", ",", ":", "'", "\\", "\u0000"]) +
        text.slice(at),
      () => text.replaceAll('"', "'"),
      () => text.replace(/}$/, ",}"),
      () => text.replace(/:/, ":NaN,"),
      () => text + "garbage",
      () => "{" + text,
      () => text.replace(/"/, ""),
    ])();
    if (!isJson(broken)) return broken;
  }
  return "{";
}

/** Values of the wrong type or shape for each field (each one is invalid for that field). */
const WRONG: Record<string, unknown[]> = {
  id: [
    123,
    null,
    true,
    [],
    {},
    "",
    "short",
    "a".repeat(65),
    "-leading",
    "has space x",
    "ünïcode-id",
    "a/b/c/d/e/f",
    "..%2f..%2f",
    "x\u0000yyyyyyy",
  ],
  prompt: [123, null, false, [], { a: 1 }, "", "nul\u0000inside"],
  cwd: [1, null, [], {}, "", "relative/path", "./x", "~/x", "/tmp/\u0000x"],
  profile: [1, null, "", "Query", "../query", "query profile", "q".repeat(33), [], "ПРОФИЛЬ"],
  runner: [1, false, "", "Sh", "../bin/sh", "sh;rm", [], {}],
  timeout_s: [0, -1, 1.5, "10", null, 1e12, [], {}, 7 * 24 * 3600 + 1],
  peer: [1, null, "", "p".repeat(254), [], {}],
  task: [1, null, "", [], { text: "x" }, "nul\u0000inside"],
};

/** An invalid body made from a valid one (`valid` must parse as the schema). */
export function badBodies(r: R, valid: Record<string, unknown>): string | Uint8Array {
  const which = int(r, 0, 6);
  if (which === 0) return breakJson(r, JSON.stringify(valid));
  if (which === 1) {
    const field = pick(r, Object.keys(WRONG).filter((k) => k in valid));
    // NUL inside an otherwise allowed path or prompt, too.
    const nul = typeof valid[field] === "string" && ["cwd", "prompt", "task"].includes(field)
      ? [`${valid[field]}/\u0000x`]
      : [];
    return JSON.stringify({ ...valid, [field]: pick(r, [...WRONG[field], ...nul]) });
  }
  if (which === 2) {
    const extra = pick(r, ["admin", "__proto__x", "Prompt", "evil", "requester", "state", "x"]);
    return JSON.stringify({ ...valid, [extra]: pick(r, [1, "x", true, null, {}]) });
  }
  if (which === 3) {
    const required = Object.keys(valid).filter((k) =>
      !["runner", "timeout_s", "profile", "id"].includes(k)
    );
    const copy = { ...valid };
    delete copy[pick(r, required)];
    return JSON.stringify(copy);
  }
  if (which === 4) {
    const depth = int(r, 100, 60_000);
    const field = pick(r, Object.keys(valid));
    const nest = "[".repeat(depth) + "]".repeat(depth);
    return JSON.stringify({ ...valid, [field]: "@@" }).replace('"@@"', nest);
  }
  if (which === 5) {
    // Invalid UTF-8 inside a JSON string.
    const text = JSON.stringify({ ...valid, prompt: "@@" });
    const [a, b] = text.split("@@");
    const bad = pick(r, [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [
      0xf8,
      0x88,
      0x80,
      0x80,
      0x80,
    ], [0x80]]);
    return new Uint8Array([...enc.encode(a), 0x68, ...bad, 0x69, ...enc.encode(b)]);
  }
  return pick(r, ["", "null", "[]", "123", '"a string"', "true", "{}", '{"id":{}}']);
}

/** Cases against the worker API. `valid()` makes a request policy would admit. */
export function workerCases(
  seed: number,
  count: number,
  p: { valid: (i: number) => Record<string, unknown>; outsideCwd: string; maxBody: number },
): BadCase[] {
  const r = rng(seed);
  const cases: BadCase[] = [];
  const trickyIds = [
    "..",
    "../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e",
    "%00",
    "%ff%fe",
    "a%20b",
    "x".repeat(3000),
    "t%0d%0aSet-Cookie:x",
    "%25%32%65",
    "<script>alert(1)</script>",
    "t-does-not-exist-0001",
    "t-does-not-exist-0002",
    "тестовый-id",
    "a;b",
    "CON",
    "%c0%ae%c0%ae",
  ];
  const subs = [
    "",
    "/result",
    "/events",
    "/cancel",
    "/events?after=-1",
    "/events?after=abc",
    "/events?after=1e400",
  ];
  for (let i = 0; cases.length < count; i++) {
    const valid = p.valid(i);
    const k = i % 11;
    if (k <= 3) {
      cases.push({
        kind: "body",
        method: "POST",
        path: "/v1/tasks",
        headers: JSON_TYPE,
        body: badBodies(r, valid),
      });
    } else if (k === 4) {
      const id = pick(r, trickyIds);
      const sub = pick(r, subs);
      const method = sub === "/cancel" ? "POST" : "GET";
      cases.push({
        kind: "path",
        method,
        path: `/v1/tasks/${id}${sub}`,
        headers: {},
        raw: r() < 0.5,
      });
    } else if (k === 5) {
      // Paths fetch would normalise: sent raw.
      const path = pick(r, [
        "/v1/tasks/../../../etc/passwd",
        "/v1/../v1/tasks/x",
        "//v1/tasks",
        "/v1/tasks/./.",
        "/v1/%2e%2e/tasks",
        "/v1/tasks/\u00ff",
        "*",
        "/v1/tasks/a\\..\\..\\b",
        "/v1/tasks?id=1&id=2",
        "/V1/TASKS",
      ]);
      const bytes = path.includes("\u00ff")
        ? new Uint8Array([...enc.encode("/v1/tasks/"), 0xff, 0xfe])
        : path;
      const httpLayer = path === "*" || typeof bytes !== "string";
      cases.push({
        kind: "raw-path",
        method: pick(r, ["GET", "POST"]),
        path: bytes,
        headers: JSON_TYPE,
        body: "{}",
        raw: true,
        httpLayer,
      });
    } else if (k === 6) {
      const type = pick(r, [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/jsonx",
        "json",
        "",
      ]);
      cases.push({
        kind: "content-type",
        method: "POST",
        path: "/v1/tasks",
        headers: type ? { "content-type": type } : {},
        body: JSON.stringify(valid),
      });
    } else if (k === 7) {
      const [method, path] = pick(r, [
        ["PUT", "/v1/tasks"],
        ["DELETE", "/v1/tasks"],
        ["PATCH", "/v1/tasks/t-abcdefgh"],
        ["GET", "/v1/tasks"],
        ["DELETE", "/v1/tasks/t-abcdefgh"],
        ["POST", "/v1/hello"],
        ["OPTIONS", "/v1/tasks"],
        ["GET", "/v1/tasks/t-abcdefgh/cancel"],
        ["POST", "/v1/tasks/t-abcdefgh/result"],
        ["GET", "/"],
        ["GET", "/v2/tasks"],
        ["TRACE", "/v1/tasks"],
      ]);
      cases.push({
        kind: "method",
        method,
        path,
        headers: JSON_TYPE,
        body: method === "GET" || method === "OPTIONS" ? undefined : "{}",
      });
    } else if (k === 8 && i % 88 === 8) {
      // Over the body limit (a few, they are big).
      const size = p.maxBody + int(r, 1, 4 * p.maxBody);
      cases.push({
        kind: "huge",
        method: "POST",
        path: "/v1/tasks",
        headers: JSON_TYPE,
        body: JSON.stringify({ ...valid, prompt: "x".repeat(size) }),
      });
    } else if (k === 8 || k === 9) {
      // The right shape, refused by policy (audited as denials).
      const deny = pick(r, [
        { cwd: p.outsideCwd },
        { cwd: "/etc" },
        { cwd: "/root/.ssh" },
        { cwd: "/nonexistent/path" },
        { cwd: "C:\\Windows" },
        { profile: "full" },
        { profile: "build" },
        { profile: "edit" },
        { runner: "claude" },
        { runner: "nosuchrunner" },
        { prompt: "p".repeat(70 * 1024) },
        { timeout_s: 7 * 24 * 3600 },
      ]);
      cases.push({
        kind: "policy",
        method: "POST",
        path: "/v1/tasks",
        headers: JSON_TYPE,
        body: JSON.stringify({ ...valid, ...deny }),
      });
    } else {
      // Declared length far beyond the limit.
      cases.push({
        kind: "content-length",
        method: "POST",
        path: "/v1/tasks",
        headers: { ...JSON_TYPE, "content-length": String(p.maxBody * 100) },
        body: "{}",
        raw: true,
      });
    }
  }
  return cases;
}
