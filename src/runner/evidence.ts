/**
 * @module
 * Git evidence the worker itself observes around a run: HEAD and `git status` before and
 * after, the diff stat against the before HEAD, and the files changed (tracked changes, new
 * commits and untracked new files). A git failure never fails a task: each function degrades
 * to null/empty with a reason.
 *
 * The repository is the run's: after a `build` task its `.git/config` may be the runner's work.
 * So git runs inside the run's sandbox when there is one (a {@link GitRunner} with `wrap`: the
 * cwd read-only, no network, a private HOME), and always hardened: a scrubbed environment
 * (caller's base env minus every `GIT_*` variable, plus `GIT_CONFIG_NOSYSTEM=1`,
 * `GIT_CONFIG_GLOBAL=/dev/null`, `GIT_OPTIONAL_LOCKS=0`, `GIT_TERMINAL_PROMPT=0`, no pager),
 * `core.hooksPath=/dev/null`, fsmonitor off, `core.quotepath=off`, no external diff or textconv,
 * a timeout and an output cap.
 *
 * @example
 * ```ts
 * import { collectGitEvidence, gitSnapshot } from "./evidence.ts";
 * const before = await gitSnapshot("/srv/app", "/usr/bin/git");
 * // ... run the task ...
 * const { git, reasons } = await collectGitEvidence("/srv/app", before, "/usr/bin/git");
 * ```
 */
import type { Evidence, GitSnapshot } from "../protocol/task.ts";
import { runBounded } from "../util/bounded_command.ts";

/** Limits for one git helper call. */
const GIT_TIMEOUT_MS = 30_000;
const GIT_MAX_BYTES = 8 * 1024 * 1024;
/** Most status entries / changed files kept; beyond it a final `… N more` entry is added. */
export const MAX_GIT_ENTRIES = 5000;
/** Most bytes of diff stat kept. */
export const MAX_DIFF_STAT_BYTES = 64 * 1024;

/** The git binary, and how to wrap its argv (in the run's sandbox), when it must be. */
export type GitRunner = string | { gitBin: string; wrap?: (argv: string[]) => string[] };

type GitCall = { ok: true; stdout: Uint8Array } | {
  ok: false;
  code: number | null;
  reason: string;
};

function gitEnv(base: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (!k.startsWith("GIT_")) env[k] = v;
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_OPTIONAL_LOCKS: "0",
    GIT_TERMINAL_PROMPT: "0",
    GIT_PAGER: "cat",
    PAGER: "cat",
    LC_ALL: "C",
  };
}

/** Config every git call overrides (the repository's own config may be hostile). */
export const GIT_HARDENING: readonly string[] = [
  "--no-pager",
  "-c",
  "core.hooksPath=/dev/null",
  "-c",
  "core.fsmonitor=false",
  "-c",
  "core.pager=cat",
  "-c",
  "core.quotepath=off",
  "-c",
  "color.ui=false",
];

async function git(
  cwd: string,
  runner: GitRunner,
  env: Record<string, string>,
  args: string[],
): Promise<GitCall> {
  const { gitBin, wrap } = typeof runner === "string"
    ? { gitBin: runner, wrap: undefined }
    : runner;
  const argv = [gitBin, ...GIT_HARDENING, ...args];
  const [bin, ...fullArgs] = wrap ? wrap(argv) : argv;
  try {
    const r = await runBounded(bin, {
      args: fullArgs,
      cwd,
      env: gitEnv(env),
      maxStdoutBytes: GIT_MAX_BYTES,
      timeoutMs: GIT_TIMEOUT_MS,
    });
    if (r.timedOut) return { ok: false, code: null, reason: `git ${args[0]} timed out` };
    if (r.stdoutTruncated) return { ok: true, stdout: r.stdout };
    if (r.code !== 0) {
      const msg = r.stderr.trim().split("\n")[0] ?? "";
      return { ok: false, code: r.code, reason: `git ${args[0]} exited ${r.code}: ${msg}` };
    }
    return { ok: true, stdout: r.stdout };
  } catch (e) {
    return { ok: false, code: null, reason: `cannot run git: ${(e as Error).message}` };
  }
}

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

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

/** A snapshot, or null with the reason it could not be taken. */
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
 * Takes a snapshot of the git work tree at `cwd` and says why when it cannot. One git call
 * (`status --porcelain=v2 --branch`), since each call may cost a sandbox start.
 *
 * @example
 * ```ts
 * const { snapshot, reason } = await gitSnapshotWithReason("/srv/app", "/usr/bin/git", {});
 * ```
 */
export async function gitSnapshotWithReason(
  cwd: string,
  gitBin: GitRunner,
  env: Record<string, string> = {},
): Promise<GitSnapshotOutcome> {
  const status = await git(cwd, gitBin, env, [
    "status",
    "--porcelain=v2",
    "--branch",
    "-z",
    "--untracked-files=all",
  ]);
  if (!status.ok) {
    const notWorkTree = /must be run in a work tree/.test(status.reason);
    return { snapshot: null, reason: notWorkTree ? "not a git work tree" : status.reason };
  }
  const parsed = parsePorcelainV2Z(decode(status.stdout));
  return { snapshot: { head: parsed.head, status: capEntries(parsed.entries) }, reason: null };
}

/**
 * A snapshot of the git work tree at `cwd`: HEAD (null before the first commit) and the
 * porcelain status entries. Null when `cwd` is not a git work tree or git fails.
 *
 * @example
 * ```ts
 * const before = await gitSnapshot("/srv/app", "/usr/bin/git", { HOME: "/var/lib/cmesh" });
 * ```
 */
export async function gitSnapshot(
  cwd: string,
  gitBin: GitRunner,
  env: Record<string, string> = {},
): Promise<GitSnapshot | null> {
  return (await gitSnapshotWithReason(cwd, gitBin, env)).snapshot;
}

/** Diff evidence; `reason` says why `diff_stat` is null. */
export interface GitDiffEvidence {
  diff_stat: string | null;
  changed_files: string[];
  reason: string | null;
}

/**
 * Compares the work tree (including commits made since) with the `before` HEAD: `diff_stat` is
 * `git diff --stat <before HEAD>` (the empty tree when there was no commit), and
 * `changed_files` lists tracked changes plus untracked files that are new or gone since
 * `before`. Paths are relative to the repository root.
 *
 * Limits: files that were already modified before the run show up as changed too (compare with
 * `before.status`); an untracked file that existed before and was only edited is not detected.
 *
 * @example
 * ```ts
 * const before = await gitSnapshot("/srv/app", "/usr/bin/git"); // before the run
 * const { diff_stat, changed_files } = await gitDiffEvidence("/srv/app", before, "/usr/bin/git");
 * ```
 */
export async function gitDiffEvidence(
  cwd: string,
  before: GitSnapshot | null,
  gitBin: GitRunner,
  env: Record<string, string> = {},
  after?: GitSnapshot | null | Promise<GitSnapshot | null>,
): Promise<GitDiffEvidence> {
  if (before === null) {
    return { diff_stat: null, changed_files: [], reason: "no snapshot from before the run" };
  }
  let base = before.head;
  if (base === null) {
    const empty = await git(cwd, gitBin, env, ["hash-object", "-t", "tree", "/dev/null"]);
    if (!empty.ok) return { diff_stat: null, changed_files: [], reason: empty.reason };
    base = decode(empty.stdout).trim();
  }
  const reasons: string[] = [];
  const diffArgs = ["diff", "--no-ext-diff", "--no-textconv", "--no-renames", "--no-color"];

  let diffStat: string | null = null;
  // Both diffs at once (read-only, no optional locks): each call may be a sandbox start.
  const [stat, names] = await Promise.all([
    git(cwd, gitBin, env, [...diffArgs, "--stat=200,160,500", base, "--"]),
    git(cwd, gitBin, env, [...diffArgs, "--name-only", "-z", base, "--"]),
  ]);
  if (stat.ok) {
    const text = decode(stat.stdout.subarray(0, MAX_DIFF_STAT_BYTES)).trimEnd();
    diffStat = stat.stdout.length > MAX_DIFF_STAT_BYTES ? text + "\n… (diff stat truncated)" : text;
  } else reasons.push(stat.reason);

  const changed = new Set<string>();
  if (names.ok) {
    const list = decode(names.stdout).split("\0");
    list.pop();
    for (const name of list) if (name) changed.add(name);
  } else reasons.push(names.reason);

  let afterStatus = (await after)?.status ?? null;
  if (afterStatus === null) {
    const s = await git(cwd, gitBin, env, [
      "status",
      "--porcelain=v1",
      "-z",
      "--untracked-files=all",
    ]);
    if (s.ok) afterStatus = parsePorcelainZ(decode(s.stdout));
    else reasons.push(s.reason);
  }
  if (afterStatus !== null) {
    const untrackedBefore = untrackedOf(before.status);
    const untrackedAfter = untrackedOf(afterStatus);
    for (const p of untrackedAfter) if (!untrackedBefore.has(p)) changed.add(p);
    for (const p of untrackedBefore) if (!untrackedAfter.has(p)) changed.add(p);
  }
  return {
    diff_stat: diffStat,
    changed_files: capEntries([...changed].sort()),
    reason: reasons.length > 0 ? reasons.join("; ") : null,
  };
}

/**
 * Everything for `Evidence.git`: takes the after snapshot and the diff. `git` is null when there
 * was no before snapshot (not a repository); `reasons` collects why anything degraded.
 *
 * @example
 * ```ts
 * const [cwd, env] = ["/srv/app", { PATH: "/usr/bin:/bin" }];
 * const before = await gitSnapshot(cwd, "/usr/bin/git", env); // before the run
 * const { git, reasons } = await collectGitEvidence(cwd, before, "/usr/bin/git", env);
 * if (reasons.length > 0) console.warn(reasons.join("; "));
 * ```
 */
export async function collectGitEvidence(
  cwd: string,
  before: GitSnapshot | null,
  gitBin: GitRunner,
  env: Record<string, string> = {},
): Promise<{ git: Evidence["git"]; reasons: string[] }> {
  if (before === null) return { git: null, reasons: ["no git snapshot from before the run"] };
  // The after snapshot runs alongside the diffs (all read-only): one wait instead of three.
  const afterCall = gitSnapshotWithReason(cwd, gitBin, env);
  const diff = await gitDiffEvidence(
    cwd,
    before,
    gitBin,
    env,
    afterCall.then((a) => a.snapshot),
  );
  const after = await afterCall;
  const reasons = [after.reason, diff.reason].filter((r): r is string => r !== null);
  return {
    git: {
      before,
      after: after.snapshot,
      diff_stat: diff.diff_stat,
      changed_files: diff.changed_files,
    },
    reasons,
  };
}
