/**
 * @module
 * The I/O edge of cwd policy: canonicalise a requested cwd and the configured roots with
 * `Deno.realPath` (which resolves symlinks and `..`), so the pure policy compares real
 * locations only. A symlink inside a root that points outside resolves to the outside path
 * and is then denied by `policy/inbound.ts`.
 *
 * Case: `Deno.realPath` returns the on-disk spelling on macOS and Windows, so folding is
 * rarely needed. {@link isCaseInsensitiveFs} probes a directory; {@link rootsCaseInsensitive}
 * says "fold" only when every existing root is on a case-insensitive file system, because
 * folding on a case-sensitive one could let `/srv/App` (a different directory) pass for
 * `/srv/app`. When a probe cannot decide (no letters in the path) the answer is `false`: not
 * folding can only deny, never widen.
 *
 * @example
 * ```ts
 * import { resolveCwd } from "./cwd_resolve.ts";
 * const r = await resolveCwd("/tmp");
 * if (r.ok) console.log(r.real); // "/tmp" (or "/private/tmp" on macOS)
 * ```
 */
import { isAbsolutePath } from "../protocol/paths.ts";

/** The outcome of {@link resolveCwd}. */
export type ResolvedCwd = { ok: true; real: string } | { ok: false; reason: string };

/**
 * Anything that resolves a cwd like {@link resolveCwd}. The sandboxed worker thread passes one
 * that asks the daemon's main thread (`worker/cwd_port.ts`), because it may not read the symlinks
 * (`/tmp` → `/private/tmp`, a symlinked home) that lead into its roots.
 */
export type CwdResolver = (path: string) => Promise<ResolvedCwd>;

/** Windows verbatim prefix some APIs return (`\\?\C:\x`); policy wants plain `C:\x`. */
function stripVerbatim(path: string): string {
  if (path.startsWith("\\\\?\\UNC\\")) return `\\\\${path.slice(8)}`;
  if (path.startsWith("\\\\?\\")) return path.slice(4);
  return path;
}

/**
 * A resolver that answers by itself only when its answer must be the one {@link resolveCwd} gives
 * with full read access: the real path of a directory this thread may stat. Anything else (the
 * path or where it leads is not readable here, missing, not a directory, any error) is asked of
 * `fallback`. The worker thread uses it in front of the main-thread port: most cwds lie in its
 * roots and resolve there, without two messages between threads per check (two checks per task).
 *
 * @example
 * ```ts
 * import { resolveCwd, resolvingHereFirst } from "./cwd_resolve.ts";
 * const resolve = resolvingHereFirst(resolveCwd); // the fallback: e.g. the main-thread port
 * await resolve("/srv/app");
 * ```
 */
export function resolvingHereFirst(fallback: CwdResolver): CwdResolver {
  return async (path) => {
    if (typeof path === "string" && isAbsolutePath(path) && !path.includes("\0")) {
      try {
        const real = stripVerbatim(await Deno.realPath(path));
        if ((await Deno.stat(real)).isDirectory) return { ok: true, real };
      } catch { /* not answerable here: ask the fallback */ }
    }
    return await fallback(path);
  };
}

/**
 * Resolves `path` to its real location; it must exist and be a directory. The `reason` of a
 * failure completes the sentence "cwd X …" ("does not exist", "is not a directory", …).
 *
 * @example
 * ```ts
 * import { resolveCwd } from "./cwd_resolve.ts";
 * (await resolveCwd("/no/such/dir")).ok; // false
 * ```
 */
export async function resolveCwd(path: string): Promise<ResolvedCwd> {
  if (typeof path !== "string" || path.length === 0 || path.includes("\0")) {
    return { ok: false, reason: "is not a valid path" };
  }
  // Deno.realPath would resolve a relative path against the daemon's own cwd: refuse it.
  if (!isAbsolutePath(path)) return { ok: false, reason: "is not an absolute path" };
  let real: string;
  try {
    real = stripVerbatim(await Deno.realPath(path));
  } catch (error) {
    return { ok: false, reason: describeError(error) };
  }
  try {
    const info = await Deno.stat(real);
    if (!info.isDirectory) return { ok: false, reason: "is not a directory" };
  } catch (error) {
    // In the sandboxed worker, only the allowed roots are readable: a path inside a root that
    // resolves (through a symlink) to somewhere outside them cannot be stat'ed. Its real
    // location is known, so hand it to policy, which denies it as outside the roots
    // (`inbound.allow[i].cwd`, "resolves to …") instead of calling it unreadable.
    if (error instanceof Deno.errors.NotCapable) return { ok: true, real };
    return { ok: false, reason: describeError(error) };
  }
  return { ok: true, real };
}

function describeError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "does not exist";
  if (error instanceof Deno.errors.NotADirectory) return "does not exist (a parent is a file)";
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
    return "cannot be read by cmesh (permission denied)";
  }
  if (error instanceof Deno.errors.FilesystemLoop) return "is a symlink loop";
  return "could not be resolved";
}

/**
 * Resolves every rule's cwd roots, keeping the shape of `inbound.allow[i].cwd`; a root that
 * does not exist (or is not a directory) becomes `null`, which policy treats as "allows
 * nothing".
 *
 * @example
 * ```ts
 * import { resolveRoots } from "./cwd_resolve.ts";
 * await resolveRoots([{ cwd: ["/tmp", "/no/such"] }]); // [["/tmp", null]]
 * ```
 */
export async function resolveRoots(
  allow: readonly { cwd: readonly string[] }[],
): Promise<(string | null)[][]> {
  return await Promise.all(
    allow.map((rule) =>
      Promise.all(rule.cwd.map(async (root) => {
        const r = await resolveCwd(root);
        return r.ok ? r.real : null;
      }))
    ),
  );
}

/** Flips the case of the first cased character, or `null` if nothing has case. */
function flipOneLetter(segment: string): string | null {
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    const lower = c.toLowerCase();
    const upper = c.toUpperCase();
    if (lower !== upper) {
      const flipped = c === lower ? upper : lower;
      if (flipped.length !== 1) continue;
      return segment.slice(0, i) + flipped + segment.slice(i + 1);
    }
  }
  return null;
}

/**
 * Probes whether the file system holding `dir` ignores case: spells the deepest path
 * component that has a letter differently and checks whether it names the same entry.
 * Returns `false` when it cannot tell (no letters, errors).
 *
 * @example
 * ```ts
 * import { isCaseInsensitiveFs } from "./cwd_resolve.ts";
 * await isCaseInsensitiveFs("/tmp"); // false on a typical Linux ext4 /tmp
 * ```
 */
export async function isCaseInsensitiveFs(dir: string): Promise<boolean> {
  const resolved = await resolveCwd(dir);
  if (!resolved.ok) return false;
  const real = resolved.real;
  const sep = /^[A-Za-z]:\\/.test(real) ? "\\" : "/";
  const parts = real.split(sep);
  for (let i = parts.length - 1; i >= 1; i--) {
    const flipped = flipOneLetter(parts[i]);
    if (flipped === null) continue;
    const variant = [...parts.slice(0, i), flipped, ...parts.slice(i + 1)].join(sep);
    try {
      const [a, b] = await Promise.all([Deno.stat(real), Deno.stat(variant)]);
      if (a.ino !== null && b.ino !== null) return a.ino === b.ino && a.dev === b.dev;
      // No inode numbers (Windows): the other spelling exists; compare canonical forms.
      return stripVerbatim(await Deno.realPath(variant)) === real;
    } catch {
      return false; // the other spelling does not exist: case-sensitive
    }
  }
  return false;
}

/**
 * True only when every existing root probes case-insensitive (and at least one exists).
 *
 * @example
 * ```ts
 * import { resolveRoots, rootsCaseInsensitive } from "./cwd_resolve.ts";
 * await rootsCaseInsensitive(await resolveRoots([{ cwd: ["/tmp"] }]));
 * ```
 */
export async function rootsCaseInsensitive(
  rootsReal: readonly (readonly (string | null)[])[],
): Promise<boolean> {
  const roots = [...new Set(rootsReal.flat().filter((r): r is string => r !== null))];
  if (roots.length === 0) return false;
  const probes = await Promise.all(roots.map(isCaseInsensitiveFs));
  return probes.every(Boolean);
}
