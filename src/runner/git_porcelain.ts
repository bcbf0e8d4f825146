/**
 * @module
 * Reading what git printed into evidence, without running anything: porcelain status (v1 and
 * v2, NUL-separated) into `"XY path"` entries and HEAD, a status answer into a snapshot, and the
 * diff answer (`--numstat -z`, then the `--stat` text) with the before/after status into the
 * diff stat and the changed files. Entries and the diff stat are capped. `evidence.ts` makes the
 * git calls.
 *
 * @example
 * ```ts
 * import { parsePorcelainV2Z } from "./git_porcelain.ts";
 * const { head, entries } = parsePorcelainV2Z("# branch.oid (initial)\0? a.txt\0");
 * // head: null, entries: ["?? a.txt"]
 * ```
 */
import type { GitSnapshot } from "../protocol/task.ts";
import type { GitCall } from "./git_calls.ts";

/**
 * Most status entries / changed files kept; beyond it a final `… N more` entry is added.
 *
 * @example
 * ```ts
 * const kept = Math.min(12_000, MAX_GIT_ENTRIES); // 5000 entries, then "… 7000 more"
 * ```
 */
export const MAX_GIT_ENTRIES = 5000;
/**
 * Most bytes of diff stat kept; a longer one ends in `… (diff stat truncated)`.
 *
 * @example
 * ```ts
 * const kib = MAX_DIFF_STAT_BYTES / 1024; // 64
 * ```
 */
export const MAX_DIFF_STAT_BYTES = 64 * 1024;

/**
 * Decodes git's output as UTF-8 (`core.quotepath=off` leaves paths as they are).
 *
 * @example
 * ```ts
 * decodeGitOutput(new TextEncoder().encode("HEAD\n")); // "HEAD\n"
 * ```
 */
export const decodeGitOutput = (b: Uint8Array): string => new TextDecoder().decode(b);

/**
 * Parses `git status --porcelain=v1 -z` into `"XY path"` entries (renames and copies as
 * `"R  old -> new"`). An entry cut by the output cap is dropped.
 *
 * @example
 * ```ts
 * parsePorcelainZ("?? new.txt\0R  b.txt\0a.txt\0"); // ["?? new.txt", "R  a.txt -> b.txt"]
 * ```
 */
export function parsePorcelainZ(text: string): string[] {
  const fields = text.split("\0");
  fields.pop(); // the part after the last NUL is empty or cut
  const entries: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    if (field.length < 4) continue;
    const xy = field.slice(0, 2);
    const path = field.slice(3);
    if (
      (xy[0] === "R" || xy[0] === "C" || xy[1] === "R" || xy[1] === "C") && i + 1 < fields.length
    ) {
      entries.push(`${xy} ${fields[++i]} -> ${path}`);
    } else {
      entries.push(`${xy} ${path}`);
    }
  }
  return entries;
}

function capEntries(entries: string[]): string[] {
  if (entries.length <= MAX_GIT_ENTRIES) return entries;
  return [
    ...entries.slice(0, MAX_GIT_ENTRIES),
    `… ${entries.length - MAX_GIT_ENTRIES} more`,
  ];
}

function untrackedOf(status: string[]): Set<string> {
  return new Set(status.filter((e) => e.startsWith("?? ")).map((e) => e.slice(3)));
}

/**
 * A snapshot, or null with the reason it could not be taken.
 *
 * @example
 * ```ts
 * const outcome: GitSnapshotOutcome = { snapshot: null, reason: "not a git work tree" };
 * ```
 */
export interface GitSnapshotOutcome {
  snapshot: GitSnapshot | null;
  reason: string | null;
}

/**
 * Parses `git status --porcelain=v2 --branch -z` into HEAD (null on an unborn branch) and the
 * same `"XY path"` entries {@link parsePorcelainZ} gives for v1 (renames and copies as
 * `"R  old -> new"`): one git call for what took three.
 *
 * @example
 * ```ts
 * parsePorcelainV2Z("# branch.oid (initial)\0? new.txt\0"); // { head: null, entries: ["?? new.txt"] }
 * ```
 */
export function parsePorcelainV2Z(text: string): { head: string | null; entries: string[] } {
  const fields = text.split("\0");
  fields.pop(); // the part after the last NUL is empty or cut
  let head: string | null = null;
  const entries: string[] = [];
  // Fields before the path in each record kind (`1`, `2`, `u`).
  const before: Record<string, number> = { "1": 8, "2": 9, "u": 10 };
  const xyOf = (xy: string) => xy.replaceAll(".", " ");
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (f.startsWith("# ")) {
      if (f.startsWith("# branch.oid ")) {
        const oid = f.slice("# branch.oid ".length);
        head = oid === "(initial)" ? null : oid;
      }
      continue;
    }
    if (f.startsWith("? ")) entries.push(`?? ${f.slice(2)}`);
    else if (f.startsWith("! ")) entries.push(`!! ${f.slice(2)}`);
    else if (before[f[0]] !== undefined) {
      let at = 0;
      for (let n = 0; n < before[f[0]] && at >= 0; n++) at = f.indexOf(" ", at + 1);
      if (at < 0) continue; // cut by the output cap
      const xy = xyOf(f.slice(2, 4));
      const path = f.slice(at + 1);
      if (f[0] === "2") {
        if (i + 1 >= fields.length) continue;
        entries.push(`${xy} ${fields[++i]} -> ${path}`);
      } else entries.push(`${xy} ${path}`);
    }
  }
  return { head, entries };
}

/**
 * The snapshot in the answer of `git status --porcelain=v2 --branch -z`, or why there is none
 * (the call failed; "not a git work tree" when that is why).
 *
 * @example
 * ```ts
 * import type { GitCall } from "./git_calls.ts";
 * declare const status: GitCall;
 * const { snapshot, reason } = snapshotFromStatus(status);
 * ```
 */
export function snapshotFromStatus(status: GitCall): GitSnapshotOutcome {
  if (!status.ok) {
    const notWorkTree = /must be run in a work tree/.test(status.reason);
    return { snapshot: null, reason: notWorkTree ? "not a git work tree" : status.reason };
  }
  const parsed = parsePorcelainV2Z(decodeGitOutput(status.stdout));
  return { snapshot: { head: parsed.head, status: capEntries(parsed.entries) }, reason: null };
}

/**
 * Diff evidence; `reason` says why `diff_stat` is null.
 *
 * @example
 * ```ts
 * const none: GitDiffEvidence = { diff_stat: null, changed_files: [], reason: "no snapshot" };
 * ```
 */
export interface GitDiffEvidence {
  diff_stat: string | null;
  changed_files: string[];
  reason: string | null;
}

/**
 * Diff evidence from the answer of the diff call (`--numstat -z` followed by the `--stat` text,
 * which git prints after it) and the after status entries: the changed files are the diff's
 * plus the untracked files that are new or gone since `before`.
 *
 * @example
 * ```ts
 * import type { GitCall } from "./git_calls.ts";
 * declare const diff: GitCall;
 * const before = { head: "0123abc", status: ["?? old.txt"] };
 * const { changed_files } = diffEvidenceFrom(before, diff, ["?? new.txt"], null);
 * // the diff's files, "new.txt" (new) and "old.txt" (gone)
 * ```
 */
export function diffEvidenceFrom(
  before: GitSnapshot,
  diff: GitCall,
  afterStatus: string[] | null,
  afterReason: string | null,
): GitDiffEvidence {
  const reasons: string[] = [];
  let diffStat: string | null = null;
  const changed = new Set<string>();
  if (diff.ok) {
    const parts = decodeGitOutput(diff.stdout).split("\0");
    const stat = parts.pop() ?? "";
    // `added<TAB>deleted<TAB>path` per file ("-" for binary files).
    for (const entry of parts) {
      const m = /^(?:\d+|-)\t(?:\d+|-)\t(.+)$/s.exec(entry);
      if (m) changed.add(m[1]);
    }
    if (/^(?:\d+|-)\t/.test(stat)) reasons.push("git diff: output cap reached");
    else {
      const bytes = new TextEncoder().encode(stat);
      const text = decodeGitOutput(bytes.subarray(0, MAX_DIFF_STAT_BYTES)).trimEnd();
      diffStat = bytes.length > MAX_DIFF_STAT_BYTES ? text + "\n… (diff stat truncated)" : text;
    }
  } else reasons.push(diff.reason);
  if (afterStatus !== null) {
    const untrackedBefore = untrackedOf(before.status);
    const untrackedAfter = untrackedOf(afterStatus);
    for (const p of untrackedAfter) if (!untrackedBefore.has(p)) changed.add(p);
    for (const p of untrackedBefore) if (!untrackedAfter.has(p)) changed.add(p);
  } else if (afterReason !== null) reasons.push(afterReason);
  return {
    diff_stat: diffStat,
    changed_files: capEntries([...changed].sort()),
    reason: reasons.length > 0 ? reasons.join("; ") : null,
  };
}
