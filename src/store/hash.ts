/**
 * @module
 * SHA-256 helpers (synchronous, `node:crypto`), so hashes can be computed inside a
 * `Store.transaction`.
 *
 * @example
 * ```ts
 * import { requestHash, sha256Hex } from "./hash.ts";
 * sha256Hex("abc"); // "ba7816bf..."
 * requestHash({ id: "t_0123456789", prompt: "hi", cwd: "/srv", profile: "query" });
 * ```
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../util/canonical_json.ts";
import type { TaskRequest } from "../protocol/task.ts";

/** Lower-case hex SHA-256 of the UTF-8 bytes of `text`. */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * The idempotency hash of a task request: SHA-256 of its canonical JSON. Two requests with the
 * same fields hash alike whatever their key order; a field left out and a field set to
 * `undefined` hash alike too.
 *
 * @example
 * ```ts
 * import type { TaskRequest } from "../protocol/task.ts";
 * declare const req: TaskRequest;
 * requestHash(req) === requestHash({ ...req }); // true
 * ```
 */
export function requestHash(request: TaskRequest): string {
  return sha256Hex(canonicalJson(request));
}
