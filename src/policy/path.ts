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
 * Windows forms that name the same file several ways, or no file at all, are refused with a
 * reason: `\\?\` and `\\.\` device paths, UNC shares (`\\server\share`), and in a drive path
 * a segment with a `:` (alternate data stream), a trailing dot or space (Windows drops them),
 * a reserved device name (`CON`, `NUL`, `COM1`, ...) or an 8.3 short name (`PROGRA~1`: the
 * realpath gives the long name; a short one left over means it was not resolved).
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
  const windowsSpecial = windowsSpecialForm(path);
  if (windowsSpecial !== null) return { ok: false, problem: windowsSpecial };
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
  const segments = rest.split("/").filter((s) => s !== "");
  if (drive) {
    for (const segment of segments) {
      const problem = windowsSegmentProblem(segment);
      if (problem !== null) return { ok: false, problem };
    }
  }
  return { ok: true, path: { root, segments } };
}

/** Device (`\\?\`, `\\.\`) and UNC paths: accepted nowhere. */
function windowsSpecialForm(path: string): string | null {
  if (/^[\\/][\\/][?.][\\/]/.test(path)) {
    return "is a Windows device path (\\\\?\\ or \\\\.\\); use a drive path like C:\\src\\app";
  }
  if (/^\\\\[^\\]/.test(path)) {
    return "is a UNC network path (\\\\server\\share); only local drive paths are accepted";
  }
  return null;
}

const RESERVED_DEVICE = /^(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³]|CONIN\$|CONOUT\$)(\..*)?$/i;
/** An 8.3 short name: up to 6 characters, `~`, digits, an optional extension of up to 3. */
const SHORT_NAME = /^[^~.]{1,6}~[0-9]{1,6}(\.[^.]{0,3})?$/;

/** Why one segment of a Windows drive path cannot be trusted as written, or null. */
function windowsSegmentProblem(segment: string): string | null {
  if (segment === "." || segment === "..") return null; // reported by parseAbsolutePath
  if (segment.includes(":")) {
    return `has a ":" in "${segment}" (an alternate data stream)`;
  }
  if (/[. ]$/.test(segment)) {
    return `has a segment ending in a dot or space ("${segment}"), which Windows drops`;
  }
  if (RESERVED_DEVICE.test(segment)) return `names the Windows device "${segment}"`;
  if (SHORT_NAME.test(segment)) {
    return `has the 8.3 short name "${segment}"; give the long name (the realpath)`;
  }
  return null;
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
