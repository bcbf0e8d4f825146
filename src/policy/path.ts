/**
 * @module
 * Pure, segment-aware handling of absolute paths for policy checks: parse into a root and
 * segments, refuse anything that is not canonical (relative, `.`/`..` segments, NUL), and
 * test containment segment by segment, so `/srv/app2` is never "inside" `/srv/app`.
 *
 * Accepted forms: POSIX `/a/b` and Windows drive paths `C:\a\b` or `C:/a/b`. For drive paths
 * backslashes are separators and the drive letter always compares case-insensitively; for
 * POSIX paths a backslash is an ordinary filename character. Empty segments (`//`, a trailing
 * `/`) are dropped, as the kernel does.
 *
 * @example
 * ```ts
 * import { isInside, parseAbsolutePath } from "./path.ts";
 * const root = parseAbsolutePath("/srv/app/");
 * const child = parseAbsolutePath("/srv/app2");
 * if (root.ok && child.ok) isInside(child.path, root.path, false); // false
 * ```
 */

/** An absolute path split into its root (`/` or an upper-case drive like `C:`) and segments. */
export interface ParsedPath {
  root: string;
  segments: string[];
}

/** The result of {@link parseAbsolutePath}: the parsed path or why it is not acceptable. */
export type ParsePathResult = { ok: true; path: ParsedPath } | { ok: false; problem: string };

const DRIVE = /^([A-Za-z]):[\\/]/;

/**
 * Parses an absolute, canonical path. Refuses relative paths, NUL bytes and any `.` or `..`
 * segment (a realpath never contains them, so their presence means the path was not
 * canonicalised and must not be trusted).
 *
 * @example
 * ```ts
 * import { parseAbsolutePath } from "./path.ts";
 * parseAbsolutePath("/srv//app/"); // { ok: true, path: { root: "/", segments: ["srv", "app"] } }
 * parseAbsolutePath("/srv/../etc").ok; // false
 * ```
 */
export function parseAbsolutePath(path: string): ParsePathResult {
  const split = splitAbsolute(path);
  if (!split.ok) return split;
  for (const s of split.path.segments) {
    if (s === "." || s === "..") {
      return { ok: false, problem: `contains a "${s}" segment` };
    }
  }
  return split;
}

/**
 * Parses a path and folds `.` and `..` segments lexically (`..` at the root stays there).
 * Only for deciding what a denial may reveal, never for allowing: lexical `..` ignores
 * symlinks, which is why allow decisions use realpaths.
 *
 * @example
 * ```ts
 * import { parseLexically } from "./path.ts";
 * parseLexically("/srv/app/../x/./y")?.segments; // ["srv", "x", "y"]
 * ```
 */
export function parseLexically(path: string): ParsedPath | null {
  const split = splitAbsolute(path);
  if (!split.ok) return null;
  const segments: string[] = [];
  for (const s of split.path.segments) {
    if (s === "..") segments.pop();
    else if (s !== ".") segments.push(s);
  }
  return { root: split.path.root, segments };
}

function splitAbsolute(path: string): ParsePathResult {
  if (typeof path !== "string" || path.length === 0) {
    return { ok: false, problem: "is empty" };
  }
  if (path.includes("\0")) return { ok: false, problem: "contains a NUL byte" };
  let root: string;
  let rest: string;
  const drive = DRIVE.exec(path);
  if (drive) {
    root = `${drive[1].toUpperCase()}:`;
    rest = path.slice(2).replaceAll("\\", "/");
  } else if (path.startsWith("/")) {
    root = "/";
    rest = path;
  } else {
    return { ok: false, problem: "is not an absolute path" };
  }
  return { ok: true, path: { root, segments: rest.split("/").filter((s) => s !== "") } };
}

/**
 * Compares two segments; `caseInsensitive` folds case (only for case-insensitive file systems).
 */
export function sameSegment(a: string, b: string, caseInsensitive: boolean): boolean {
  return caseInsensitive ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/**
 * True when `child` is `root` itself or below it, comparing whole segments.
 *
 * @example
 * ```ts
 * import { isInside, type ParsedPath, parseAbsolutePath } from "./path.ts";
 * const p = (s: string): ParsedPath => {
 *   const r = parseAbsolutePath(s);
 *   if (!r.ok) throw new Error(r.problem);
 *   return r.path;
 * };
 * isInside(p("/srv/app/src"), p("/srv/app"), false); // true
 * isInside(p("/srv/app-evil"), p("/srv/app"), false); // false
 * isInside(p("/SRV/App"), p("/srv/app"), true); // true
 * ```
 */
export function isInside(child: ParsedPath, root: ParsedPath, caseInsensitive: boolean): boolean {
  if (child.root !== root.root) return false;
  if (root.segments.length > child.segments.length) return false;
  return root.segments.every((seg, i) => sameSegment(child.segments[i], seg, caseInsensitive));
}
