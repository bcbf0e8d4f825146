/**
 * @module
 * SHA-256 helpers, synchronous so hashes can be computed inside a `Store.transaction`. The
 * daemons hash with `@noble/hashes` (audited, pure JavaScript, about 0.7 MiB of memory in an
 * isolate that loads it) rather than `node:crypto` (about 2-3 MiB in each of a daemon's two
 * isolates); they hash a few short records per task. `cmesh audit verify`, which hashes every
 * record of a log, uses `node:crypto`'s native SHA-256 (`audit_verify.ts`), several times faster
 * there. Both are SHA-256: `tests/store/hash_test.ts` checks they agree.
 *
 * @example
 * ```ts
 * import { requestHash, sha256Hex } from "./hash.ts";
 * sha256Hex("abc"); // "ba7816bf..."
 * requestHash({ id: "t_0123456789", prompt: "hi", cwd: "/srv", profile: "query" });
 * ```
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { canonicalJson } from "../util/canonical_json.ts";
import type { TaskRequest } from "../protocol/task.ts";

/** Lower-case hex SHA-256 of the UTF-8 bytes of `text`. */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8.encode(text)));
}

const utf8 = new TextEncoder();

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
