/**
 * @module
 * A small, pure path glob matcher for cwd patterns (outbound peers' `cwd`, grant `cwd`).
 *
 * Syntax, applied to whole path segments of an absolute pattern:
 * - `**` as a whole segment matches zero or more segments, so `/srv/**` matches `/srv`
 *   itself and everything below it, and `/**` matches every path;
 * - `*` inside a segment matches any run of characters within that one segment (including
 *   none, and including a leading dot): `/srv/*` matches `/srv/app` but not `/srv/app/src`;
 * - everything else is literal (`?`, `[`, `{` have no special meaning).
 *
 * Patterns and paths go through {@link parseAbsolutePath}: a relative pattern or path, or one
 * with a `.`/`..` segment, never matches. Trailing slashes and doubled slashes are ignored.
 * Matching never backtracks exponentially: at most |pattern|·|path| steps per segment and per
 * segment list (no regular expressions are built from input).
 *
 * @example
 * ```ts
 * import { matchPathGlob } from "./glob.ts";
 * matchPathGlob("/srv/repos/*", "/srv/repos/app"); // true
 * matchPathGlob("/srv/repos/*", "/srv/repos/app/src"); // false
 * matchPathGlob("/home/**", "/home/ann/work/src"); // true
 * ```
 */
import { parseAbsolutePath, type ParsedPath } from "./path.ts";

/** Options for {@link matchPathGlob}. */
export interface GlobOptions {
  /** Fold case when comparing (only for case-insensitive file systems). Default false. */
  caseInsensitive?: boolean;
}

/**
 * Why a glob pattern is unusable, or `null` when it is fine.
 *
 * @example
 * ```ts
 * import { globProblem } from "./glob.ts";
 * globProblem("srv/*"); // "is not an absolute path"
 * globProblem("/srv/**"); // null
 * ```
 */
export function globProblem(pattern: string): string | null {
  const parsed = parseAbsolutePath(pattern);
  return parsed.ok ? null : parsed.problem;
}

/**
 * True when `path` matches the glob `pattern` (see the module doc for the syntax).
 *
 * @example
 * ```ts
 * import { matchPathGlob } from "./glob.ts";
 * matchPathGlob("/srv/app-*", "/srv/app-1"); // true
 * matchPathGlob("/srv/app", "/srv/app2"); // false
 * matchPathGlob("/Srv/*", "/srv/x", { caseInsensitive: true }); // true
 * ```
 */
export function matchPathGlob(pattern: string, path: string, options: GlobOptions = {}): boolean {
  const p = parseAbsolutePath(pattern);
  const s = parseAbsolutePath(path);
  if (!p.ok || !s.ok) return false;
  return matchParsed(p.path, s.path, options.caseInsensitive ?? false);
}

/** True when `path` matches at least one of `patterns`. */
export function matchAnyPathGlob(
  patterns: readonly string[],
  path: string,
  options: GlobOptions = {},
): boolean {
  return patterns.some((pattern) => matchPathGlob(pattern, path, options));
}

function matchParsed(pattern: ParsedPath, path: ParsedPath, caseInsensitive: boolean): boolean {
  if (pattern.root !== path.root) return false;
  const fold = (xs: string[]) => caseInsensitive ? xs.map((x) => x.toLowerCase()) : xs;
  const ps = fold(pattern.segments);
  const ss = fold(path.segments);
  // memo[i][j]: does ps[i..] match ss[j..]? Bounded by |ps|·|ss| evaluations.
  const memo = new Map<number, boolean>();
  const width = ss.length + 1;
  const go = (i: number, j: number): boolean => {
    const key = i * width + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === ps.length) {
      result = j === ss.length;
    } else if (ps[i] === "**") {
      result = go(i + 1, j) || (j < ss.length && go(i, j + 1));
    } else {
      result = j < ss.length && matchSegment(ps[i], ss[j]) && go(i + 1, j + 1);
    }
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}

/** `*`-only wildcard match of one segment, backtracking to the last star only. */
function matchSegment(pattern: string, text: string): boolean {
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < text.length) {
    if (pi < pattern.length && pattern[pi] === "*") {
      star = pi++;
      mark = ti;
    } else if (pi < pattern.length && pattern[pi] === text[ti]) {
      pi++;
      ti++;
    } else if (star !== -1) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < pattern.length && pattern[pi] === "*") pi++;
  return pi === pattern.length;
}
