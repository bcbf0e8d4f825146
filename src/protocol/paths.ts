/**
 * @module
 * What counts as an absolute path: the one definition the wire schema (`protocol/task.ts`), the
 * cwd resolver and the runner share. Without zod, so the worker thread's idle code can use it.
 *
 * @example
 * ```ts
 * import { isAbsolutePath } from "./paths.ts";
 * isAbsolutePath("/srv/app"); // true
 * ```
 */

/**
 * True for an absolute path, POSIX `/x` or Windows `C:\x`.
 *
 * @example
 * ```ts
 * isAbsolutePath("/srv/app"); // true
 * isAbsolutePath("C:\\work"); // true
 * isAbsolutePath("srv/app"); // false
 * ```
 */
export function isAbsolutePath(p: string): boolean {
  return p.startsWith("/") || /^[A-Za-z]:[\\/]/.test(p);
}
