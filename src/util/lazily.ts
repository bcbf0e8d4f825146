/**
 * @module
 * A value made at its first use and kept; a failure is not kept, so the next use tries again.
 * The worker thread uses it to import code that an idle daemon does not need (its HTTP front, the
 * executor), so that code is not in memory until a task arrives.
 *
 * @example
 * ```ts
 * import { lazily } from "./lazily.ts";
 * const parser = lazily(async () => (await import("node:path")).posix);
 * (await parser()).join("a", "b"); // "a/b"
 * ```
 */

/** `make`, called once at the first call of the returned function (again after a failure). */
export function lazily<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | null = null;
  return () =>
    made ??= make().catch((e) => {
      made = null;
      throw e;
    });
}
