/**
 * @module
 * What counts as an absolute path: the one definition the wire schema (`protocol/task.ts`), the
 * cwd resolver and the runner share; and the directory a file is in. Without zod or `node:path`,
 * so the worker thread's idle code can use it (`node:path` brings the Node compatibility layer's
 * error and validation modules: 2 MiB in a bare Web Worker, about 0.5 MiB measured in the idle
 * worker daemon's thread; docs/performance.md).
 *
 * @example
 * ```ts
 * import { isAbsolutePath, parentDir } from "./paths.ts";
 * isAbsolutePath("/srv/app"); // true
 * parentDir("/var/lib/cmesh/cmesh.db"); // "/var/lib/cmesh"
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

/**
 * The directory `path` is in, as `node:path`'s `dirname` gives it (`posix` or `win32` by `os`):
 * everything before the last separator, `/` for `/x`, `C:\\` for `C:\\x`, `.` for a bare name.
 * Windows takes `\\` and `/` as separators.
 *
 * @example
 * ```ts
 * parentDir("/var/lib/cmesh/cmesh.db"); // "/var/lib/cmesh"
 * parentDir("C:\\ProgramData\\cmesh\\cmesh.db", "windows"); // "C:\\ProgramData\\cmesh"
 * parentDir("cmesh.db"); // "."
 * ```
 */
export function parentDir(path: string, os: typeof Deno.build.os = Deno.build.os): string {
  const isSep = os === "windows"
    ? (c: string) => c === "/" || c === "\\"
    : (c: string) => c === "/";
  const root = os === "windows" && /^[A-Za-z]:/.test(path) ? 2 : 0;
  let end = path.length;
  while (end > root + 1 && isSep(path[end - 1])) end--; // trailing separators
  let cut = end - 1;
  while (cut >= root && !isSep(path[cut])) cut--; // the separator before the last name
  if (cut < root) return root ? path.slice(0, root) : ".";
  return cut === root ? path.slice(0, root + 1) : path.slice(0, cut);
}
