/**
 * @module
 * Git evidence the worker itself observes around a run: HEAD and `git status` before and
 * after, the diff stat against the before HEAD, and the files changed (tracked changes, new
 * commits and untracked new files). A git failure never fails a task: each function degrades
 * to null/empty with a reason. What git prints is read by `git_porcelain.ts` (pure).
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
import {
  gitBatch,
  type GitCall,
  gitCall as git,
  type GitRunner,
  inRunGitCalls,
  splitPreamble,
} from "./git_calls.ts";
import {
  decodeGitOutput,
  diffEvidenceFrom,
  type GitDiffEvidence,
  type GitSnapshotOutcome,
  parsePorcelainZ,
  snapshotFromStatus,
} from "./git_porcelain.ts";
import type { Preamble } from "./preamble.ts";

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
  return snapshotFromStatus(await git(cwd, gitBin, env, STATUS_V2));
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

const DIFF_ARGS = ["diff", "--no-ext-diff", "--no-textconv", "--no-renames", "--no-color"];
/**
 * `--branch` for the HEAD commit (`# branch.oid`); `--no-ahead-behind`: the count against an
 * upstream, which nothing here reads, walks the history between them (3,000 commits ahead: 18 ms
 * instead of 3).
 */
const STATUS_V2 = [
  "status",
  "--porcelain=v2",
  "--branch",
  "--no-ahead-behind",
  "-z",
  "--untracked-files=all",
];

/** The diff base: the before HEAD, or the empty tree before the first commit. */
async function diffBase(
  cwd: string,
  before: GitSnapshot,
  runner: GitRunner,
  env: Record<string, string>,
): Promise<{ ok: true; base: string } | { ok: false; reason: string }> {
  if (before.head !== null) return { ok: true, base: before.head };
  const empty = await git(cwd, runner, env, ["hash-object", "-t", "tree", "/dev/null"]);
  return empty.ok
    ? { ok: true, base: decodeGitOutput(empty.stdout).trim() }
    : { ok: false, reason: empty.reason };
}

/**
 * The one diff call against `base`: `--numstat -z` (the changed names, NUL-ended) followed by the
 * `--stat` text, which git prints after it.
 */
function diffCall(base: string): string[] {
  return [...DIFF_ARGS, "--numstat", "-z", "--stat=200,160,500", base, "--"];
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
): Promise<GitDiffEvidence> {
  if (before === null) {
    return { diff_stat: null, changed_files: [], reason: "no snapshot from before the run" };
  }
  const base = await diffBase(cwd, before, gitBin, env);
  if (!base.ok) return { diff_stat: null, changed_files: [], reason: base.reason };
  const [diff, status] = await gitBatch(cwd, gitBin, env, [
    diffCall(base.base),
    ["status", "--porcelain=v1", "-z", "--untracked-files=all"],
  ]);
  const afterStatus = status.ok ? parsePorcelainZ(decodeGitOutput(status.stdout)) : null;
  return diffEvidenceFrom(before, diff, afterStatus, status.ok ? null : status.reason);
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
  const base = await diffBase(cwd, before, gitBin, env);
  // The after snapshot and both diffs in one batch (all read-only): one sandbox start.
  const [status, diffAnswer] = await gitBatch(cwd, gitBin, env, [
    STATUS_V2,
    ...(base.ok ? [diffCall(base.base)] : []),
  ]);
  const after = snapshotFromStatus(status);
  const diff = base.ok
    ? diffEvidenceFrom(before, diffAnswer, after.snapshot?.status ?? null, null)
    : { diff_stat: null, changed_files: [], reason: base.reason };
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

/**
 * A before-run snapshot taken in the run's own sandbox start (see {@link inRunSnapshot}).
 *
 * @example
 * ```ts
 * const snap: InRunSnapshot = inRunSnapshot("/usr/bin/git", {}, ["PATH"]);
 * snap.calls; // [["status", "--porcelain=v2", "--branch", "--no-ahead-behind", "-z", ...]]
 * ```
 */
export interface InRunSnapshot {
  /** Goes in front of the runner's argv, inside the sandbox. */
  prefix: string[];
  /** For the supervisor's `preamble` option. */
  preamble: { boundary: string; marks: number; maxBytes: number };
  calls: string[][];
}

/**
 * Plans the before snapshot in the run's own sandbox start, just before the runner is exec'd, so
 * a run that may change its work tree costs no extra sandbox start before it. `runnerEnvNames`
 * are the variables the sandbox starts with: git runs without them.
 *
 * @example
 * ```ts
 * const snap = inRunSnapshot("/usr/bin/git", { PATH: "/usr/bin", HOME: "/tmp/h" }, ["PATH"]);
 * // argv: sandbox.wrap([...snap.prefix, ...runnerArgv]); supervisor: { preamble: snap.preamble }
 * ```
 */
export function inRunSnapshot(
  gitBin: string,
  env: Record<string, string>,
  runnerEnvNames?: readonly string[],
): InRunSnapshot {
  const calls = [STATUS_V2];
  const planned = inRunGitCalls(gitBin, env, calls, runnerEnvNames);
  return {
    prefix: planned.prefix,
    preamble: { boundary: planned.boundary, marks: planned.marks, maxBytes: planned.maxBytes },
    calls,
  };
}

/**
 * Reads the before snapshot {@link inRunSnapshot} printed.
 *
 * @example
 * ```ts
 * const snap = inRunSnapshot("/usr/bin/git", {});
 * concludeInRunSnapshot(snap, { body: null, reason: "the output ended", rest: new Uint8Array() });
 * // { snapshot: null, reason: "git snapshot in the run's sandbox: the output ended" }
 * ```
 */
export function concludeInRunSnapshot(
  snap: InRunSnapshot,
  preamble: Preamble | null,
): GitSnapshotOutcome {
  if (preamble?.body == null) {
    const why = preamble?.reason ?? "no output";
    return { snapshot: null, reason: `git snapshot in the run's sandbox: ${why}` };
  }
  return snapshotFromStatus(splitPreamble(snap.calls, snap.preamble.boundary, preamble.body)[0]);
}

/**
 * The work trees whose last read-only evidence showed tracked changes: at most `max`, the one
 * seen longest ago forgotten first. {@link readOnlyGitEvidence} asks it which plan to take.
 *
 * @example
 * ```ts
 * const trees = new DirtyTrees(2);
 * trees.note("/srv/a", true);
 * trees.note("/srv/b", true);
 * trees.note("/srv/c", true); // forgets /srv/a
 * trees.has("/srv/a"); // false
 * ```
 */
export class DirtyTrees {
  #dirty = new Set<string>();
  constructor(readonly max = 1024) {}

  /** Whether `dir` had tracked changes when it was last looked at. */
  has(dir: string): boolean {
    return this.#dirty.has(dir);
  }

  /** Records what `dir`'s evidence just showed. */
  note(dir: string, dirty: boolean): void {
    this.#dirty.delete(dir);
    if (!dirty) return;
    this.#dirty.add(dir);
    if (this.#dirty.size > this.max) this.#dirty.delete(this.#dirty.values().next().value!);
  }
}

/** The worker's own memory of dirty work trees (one per process, bounded). */
const DIRTY_TREES = new DirtyTrees();

/** A clean work tree's diff against HEAD: git prints nothing. */
const NO_DIFF: GitCall = { ok: true, stdout: new Uint8Array() };

/**
 * Whether a status answer may hide a diff: a tracked entry (changed, renamed, unmerged; the
 * `… N more` cap entry counts too), or an answer cut by the output cap.
 */
function mayHaveDiff(status: GitCall, snapshot: GitSnapshot): boolean {
  if (status.ok && status.truncated) return true;
  return snapshot.status.some((e) => !e.startsWith("?? ") && !e.startsWith("!! "));
}

/**
 * The whole `Evidence.git` of a run that cannot change its work tree (the sandbox binds a
 * `query` run's cwd read-only), taken while the runner runs. After = before. Each process
 * start may be a sandbox start, so the plan depends on what the tree showed last time
 * (`dirtyTrees`): a tree last seen clean gets `git status` alone, started directly (no shell),
 * and a diff only if the status shows tracked changes; a tree last seen dirty gets status and
 * diff in one batch (one start, a shell running both). An unborn branch diffs against the
 * empty tree (one more call).
 *
 * @example
 * ```ts
 * const evidence = readOnlyGitEvidence("/srv/app", "/usr/bin/git", { PATH: "/usr/bin" });
 * // ... run the task ...
 * const { git, reasons } = await evidence;
 * ```
 */
export async function readOnlyGitEvidence(
  cwd: string,
  gitBin: GitRunner,
  env: Record<string, string> = {},
  dirtyTrees: DirtyTrees = DIRTY_TREES,
): Promise<{ git: Evidence["git"]; reasons: string[] }> {
  const batched = dirtyTrees.has(cwd);
  const [status, batchDiff] = batched
    ? await gitBatch(cwd, gitBin, env, [STATUS_V2, diffCall("HEAD")])
    : [await git(cwd, gitBin, env, STATUS_V2), null];
  const { snapshot, reason } = snapshotFromStatus(status);
  if (snapshot === null) return { git: null, reasons: [reason ?? "no git snapshot"] };
  if (snapshot.head === null) return await collectGitEvidence(cwd, snapshot, gitBin, env);
  const dirty = mayHaveDiff(status, snapshot);
  dirtyTrees.note(cwd, dirty);
  const diff = batchDiff ?? (dirty ? await git(cwd, gitBin, env, diffCall("HEAD")) : NO_DIFF);
  const d = diffEvidenceFrom(snapshot, diff, snapshot.status, null);
  return {
    git: {
      before: snapshot,
      after: snapshot,
      diff_stat: d.diff_stat,
      changed_files: d.changed_files,
    },
    reasons: d.reason === null ? [] : [d.reason],
  };
}
