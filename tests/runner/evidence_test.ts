/**
 * @module
 * Tests for evidence.ts and git_porcelain.ts on throwaway git repositories: snapshots
 * before/after, diff stat, changed files (tracked, committed, untracked, deleted), a fresh repo
 * without commits, a non-git directory, and degradation when git cannot run.
 */
import assert from "node:assert/strict";
import {
  collectGitEvidence,
  concludeInRunSnapshot,
  DirtyTrees,
  gitDiffEvidence,
  gitSnapshot,
  gitSnapshotWithReason,
  inRunSnapshot,
  readOnlyGitEvidence,
} from "../../src/runner/evidence.ts";
import { parsePorcelainV2Z, parsePorcelainZ } from "../../src/runner/git_porcelain.ts";
import { gitEnv, inRunGitCalls, splitPreamble } from "../../src/runner/git_calls.ts";
import { readPreamble } from "../../src/runner/preamble.ts";
import { byteChunks } from "../../src/util/byte_chunks.ts";

const GIT = "/usr/bin/git";
const ENV = { HOME: "/nonexistent-home" };

function sh(cwd: string, ...args: string[]) {
  const o = new Deno.Command(GIT, {
    args: ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args],
    cwd,
    env: { HOME: "/nonexistent-home", GIT_CONFIG_NOSYSTEM: "1" },
    clearEnv: true,
  }).outputSync();
  if (o.code !== 0) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
}

function repoWithCommit(): string {
  const dir = Deno.realPathSync(Deno.makeTempDirSync());
  sh(dir, "init", "-q", "-b", "main");
  Deno.writeTextFileSync(`${dir}/a.txt`, "one\ntwo\n");
  Deno.writeTextFileSync(`${dir}/keep.txt`, "keep\n");
  Deno.writeTextFileSync(`${dir}/old-untracked.txt`, "x\n");
  sh(dir, "add", "a.txt", "keep.txt");
  sh(dir, "commit", "-q", "-m", "init");
  return dir;
}

Deno.test("parsePorcelainZ handles renames, spaces and a cut tail", () => {
  assert.deepEqual(
    parsePorcelainZ("?? new file.txt\0R  b.txt\0a.txt\0 M dir/é.txt\0?? cut"),
    ["?? new file.txt", "R  a.txt -> b.txt", " M dir/é.txt"],
  );
  assert.deepEqual(parsePorcelainZ(""), []);
});

Deno.test("snapshot and diff evidence: modified, committed, new untracked, deleted", async () => {
  const dir = repoWithCommit();
  const before = await gitSnapshot(dir, GIT, ENV);
  assert.ok(before);
  assert.match(before.head ?? "", /^[0-9a-f]{40}$/);
  assert.deepEqual(before.status, ["?? old-untracked.txt"]);

  // What an agent might do: edit, commit, add an untracked file (with a space and non-ASCII
  // name, to check quotepath), and delete a tracked file.
  Deno.writeTextFileSync(`${dir}/a.txt`, "one\ntwo\nthree\n");
  sh(dir, "commit", "-q", "-am", "agent commit");
  Deno.writeTextFileSync(`${dir}/keep.txt`, "changed but not committed\n");
  Deno.writeTextFileSync(`${dir}/nouveau fichier é.txt`, "new\n");
  Deno.removeSync(`${dir}/old-untracked.txt`);

  const after = await gitSnapshot(dir, GIT, ENV);
  assert.ok(after);
  assert.notEqual(after.head, before.head);
  assert.deepEqual(after.status, [" M keep.txt", "?? nouveau fichier é.txt"]);

  const diff = await gitDiffEvidence(dir, before, GIT, ENV);
  assert.equal(diff.reason, null);
  assert.deepEqual(diff.changed_files, [
    "a.txt",
    "keep.txt",
    "nouveau fichier é.txt",
    "old-untracked.txt",
  ]);
  assert.match(diff.diff_stat ?? "", /a\.txt\s+\| 1 \+/);
  assert.match(diff.diff_stat ?? "", /2 files changed/);

  const all = await collectGitEvidence(dir, before, GIT, ENV);
  assert.deepEqual(all.reasons, []);
  assert.deepEqual(all.git?.after, after);
  assert.deepEqual(all.git?.changed_files, diff.changed_files);
});

Deno.test("a fresh repository without commits has a null head and diffs against nothing", async () => {
  const dir = Deno.realPathSync(Deno.makeTempDirSync());
  sh(dir, "init", "-q");
  const before = await gitSnapshot(dir, GIT, ENV);
  assert.deepEqual(before, { head: null, status: [] });
  Deno.writeTextFileSync(`${dir}/first.txt`, "hello\n");
  Deno.writeTextFileSync(`${dir}/staged.txt`, "s\n");
  sh(dir, "add", "staged.txt");
  const diff = await gitDiffEvidence(dir, before, GIT, ENV);
  assert.equal(diff.reason, null);
  assert.deepEqual(diff.changed_files, ["first.txt", "staged.txt"]);
  assert.match(diff.diff_stat ?? "", /staged\.txt/);
});

Deno.test("a non-git directory gives null with a reason", async () => {
  const dir = Deno.makeTempDirSync();
  assert.equal(await gitSnapshot(dir, GIT, ENV), null);
  const { snapshot, reason } = await gitSnapshotWithReason(dir, GIT, ENV);
  assert.equal(snapshot, null);
  assert.match(reason ?? "", /not a git repository|not a git work tree/);
  assert.deepEqual(await collectGitEvidence(dir, null, GIT, ENV), {
    git: null,
    reasons: ["no git snapshot from before the run"],
  });
  const diff = await gitDiffEvidence(dir, null, GIT, ENV);
  assert.equal(diff.diff_stat, null);
  assert.deepEqual(diff.changed_files, []);
});

Deno.test("git failures degrade to null with a reason, never throw", async () => {
  const dir = repoWithCommit();
  const missing = await gitSnapshotWithReason(dir, "/nonexistent/git", ENV);
  assert.equal(missing.snapshot, null);
  assert.match(missing.reason ?? "", /cannot run git/);
  const before = { head: "0".repeat(40), status: [] };
  const diff = await gitDiffEvidence(dir, before, GIT, ENV);
  assert.equal(diff.diff_stat, null);
  assert.match(diff.reason ?? "", /git diff exited/);
  assert.deepEqual(diff.changed_files, ["old-untracked.txt"]);
});

Deno.test("GIT_* variables from the caller's env cannot redirect git", async () => {
  const dir = repoWithCommit();
  const other = Deno.makeTempDirSync();
  const snap = await gitSnapshot(dir, GIT, {
    ...ENV,
    GIT_DIR: `${other}/.git`,
    GIT_WORK_TREE: other,
  });
  assert.ok(snap);
  assert.deepEqual(snap.status, ["?? old-untracked.txt"]);
});

Deno.test("the one-call snapshot (porcelain v2) reads the same entries and HEAD as v1 did", () => {
  const out = (cwd: string, ...args: string[]) =>
    new TextDecoder().decode(
      new Deno.Command(GIT, {
        args,
        cwd,
        env: { HOME: "/nonexistent-home", GIT_CONFIG_NOSYSTEM: "1", LC_ALL: "C" },
        clearEnv: true,
      }).outputSync().stdout,
    );
  const v1 = (d: string) => parsePorcelainZ(out(d, "status", "--porcelain=v1", "-z", "-uall"));
  const v2 = (d: string) =>
    parsePorcelainV2Z(out(d, "status", "--porcelain=v2", "--branch", "-z", "-uall"));
  // A fresh repository: no HEAD yet, a staged file and an untracked one with a space.
  const fresh = Deno.realPathSync(Deno.makeTempDirSync());
  sh(fresh, "init", "-q");
  Deno.writeTextFileSync(`${fresh}/staged.txt`, "a\n");
  Deno.writeTextFileSync(`${fresh}/with space.txt`, "b\n");
  sh(fresh, "add", "staged.txt");
  assert.deepEqual(v2(fresh), { head: null, entries: v1(fresh) });
  assert.deepEqual(v1(fresh).sort(), ["?? with space.txt", "A  staged.txt"]);
  // After a commit: a rename, a modification (staged and not), a deletion, untracked files.
  const dir = repoWithCommit();
  const head = out(dir, "rev-parse", "HEAD").trim();
  Deno.writeTextFileSync(`${dir}/b.txt`, "b\n");
  Deno.writeTextFileSync(`${dir}/c d.txt`, "c\n");
  sh(dir, "add", "b.txt", "c d.txt");
  sh(dir, "commit", "-qm", "more");
  sh(dir, "mv", "b.txt", "b moved.txt");
  Deno.writeTextFileSync(`${dir}/c d.txt`, "changed\n");
  sh(dir, "add", "c d.txt");
  Deno.writeTextFileSync(`${dir}/c d.txt`, "changed again\n");
  Deno.mkdirSync(`${dir}/new dir`);
  Deno.writeTextFileSync(`${dir}/new dir/n.txt`, "n\n");
  const expected = v1(dir);
  assert.ok(expected.some((e) => e.startsWith("R  b.txt -> b moved.txt")), String(expected));
  const got = v2(dir);
  assert.deepEqual(got.entries, expected);
  assert.notEqual(got.head, head); // one more commit since
  assert.equal(got.head, out(dir, "rev-parse", "HEAD").trim());
});

/** A wrapping runner without a sandbox: takes the one-start batch path that sandboxed runs take. */
const WRAPPED = { gitBin: GIT, wrap: (argv: string[]) => argv };

Deno.test("batched (sandboxed) evidence equals the call-by-call evidence, odd names included", async () => {
  const dir = repoWithCommit();
  const before = await gitSnapshot(dir, GIT, ENV);
  Deno.writeTextFileSync(`${dir}/a.txt`, "one\nTWO\nthree\n");
  Deno.writeTextFileSync(`${dir}/line\nbreak.txt`, "x\n");
  Deno.writeTextFileSync(`${dir}/quote'd \\0 name.txt`, "x\n");
  Deno.removeSync(`${dir}/old-untracked.txt`);
  const direct = await collectGitEvidence(dir, before, GIT, ENV);
  const batched = await collectGitEvidence(dir, before, WRAPPED, ENV);
  assert.deepEqual(batched, direct);
  assert.deepEqual(batched.git?.changed_files, [
    "a.txt",
    "line\nbreak.txt",
    "old-untracked.txt",
    "quote'd \\0 name.txt",
  ]);
  assert.deepEqual(
    await gitDiffEvidence(dir, before, WRAPPED, ENV),
    await gitDiffEvidence(dir, before, GIT, ENV),
  );
});

Deno.test("batched evidence: the wrapper is started once for all after-run calls", async () => {
  const dir = repoWithCommit();
  const before = await gitSnapshot(dir, GIT, ENV);
  const starts: string[][] = [];
  const counting = { gitBin: GIT, wrap: (argv: string[]) => (starts.push(argv), argv) };
  const { git, reasons } = await collectGitEvidence(dir, before, counting, ENV);
  assert.equal(starts.length, 1);
  assert.equal(starts[0][0], "/bin/sh");
  assert.deepEqual(reasons, []);
  assert.deepEqual(git?.after, before);
});

Deno.test("batched evidence: one failing call keeps its own reason, the others their output", async () => {
  const dir = repoWithCommit();
  const before = { head: "0".repeat(40), status: ["?? old-untracked.txt"] };
  const { git, reasons } = await collectGitEvidence(dir, before, WRAPPED, ENV);
  assert.equal(git?.diff_stat, null);
  assert.deepEqual(git?.changed_files, []);
  assert.ok(git?.after?.head?.match(/^[0-9a-f]{40}$/));
  assert.equal(reasons.length, 1);
  assert.match(reasons[0], /^git diff exited 128: fatal: bad object 0{40}$/);
});

Deno.test("batched evidence: a wrapper that cannot start degrades every call with a reason", async () => {
  const dir = repoWithCommit();
  const before = await gitSnapshot(dir, GIT, ENV);
  const broken = { gitBin: GIT, wrap: (argv: string[]) => ["/nonexistent/bwrap", ...argv] };
  const { git, reasons } = await collectGitEvidence(dir, before, broken, ENV);
  assert.equal(git?.after, null);
  assert.equal(git?.diff_stat, null);
  assert.match(reasons.join("; "), /cannot run git/);
});

/** Runs `prefix` + `runner` as the sandbox would start it: its preamble, then the rest. */
async function runPrefixed(
  dir: string,
  prefix: string[],
  boundary: string,
  opts: { marks: number; maxBytes: number },
  runner: string[],
  env: Record<string, string>,
) {
  const child = new Deno.Command(prefix[0], {
    args: [...prefix.slice(1), ...runner],
    cwd: dir,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const chunks = byteChunks(child.stdout);
  const preamble = await readPreamble(chunks, boundary, opts);
  let rest = new TextDecoder().decode(preamble.rest);
  for await (const chunk of { [Symbol.asyncIterator]: () => chunks }) {
    rest += new TextDecoder().decode(chunk);
  }
  await child.status;
  return { preamble, rest };
}

// The "runner" prints its own argv and environment: the boundary must be in neither.
const PRINTING_RUNNER = ["/bin/sh", "-c", "tr '\\0' ' ' < /proc/$$/cmdline; echo; env"];

Deno.test("in-run snapshot: the prefix takes the snapshot, then the runner runs without the boundary", async () => {
  const dir = repoWithCommit();
  Deno.writeTextFileSync(`${dir}/a.txt`, "changed\n");
  const runnerEnv = { PATH: "/usr/bin:/bin", SECRET_FOR_RUNNER: "k", B: "runner's own", r: "1" };
  for (const names of [undefined, Object.keys(runnerEnv)]) {
    const snap = inRunSnapshot(GIT, ENV, names);
    const { preamble, rest } = await runPrefixed(
      dir,
      snap.prefix,
      snap.preamble.boundary,
      snap.preamble,
      PRINTING_RUNNER,
      runnerEnv,
    );
    assert.match(rest, /SECRET_FOR_RUNNER=k/);
    // Variables the git calls set stay in their subshell.
    assert.match(rest, /^B=runner's own$/m);
    assert.match(rest, /^r=1$/m);
    assert.ok(!rest.includes(snap.preamble.boundary), rest);
    const before = concludeInRunSnapshot(snap, preamble);
    assert.equal(before.reason, null);
    assert.deepEqual(before.snapshot, await gitSnapshot(dir, GIT, ENV));
    assert.deepEqual(before.snapshot?.status, [" M a.txt", "?? old-untracked.txt"]);
  }
});

Deno.test("in-run git calls see exactly the scrubbed git environment, with or without env -i", async () => {
  const dir = Deno.realPathSync(Deno.makeTempDirSync());
  // A stand-in for git that prints the environment it was started with (not the one its own
  // shell adds to: dash exports PWD).
  const fakeGit = `${dir}/fake-git`;
  Deno.writeTextFileSync(fakeGit, "#!/bin/sh\ntr '\\0' '\\n' < /proc/$$/environ\n");
  Deno.chmodSync(fakeGit, 0o755);
  const runnerEnv = {
    PATH: "/usr/bin:/bin",
    HOME: "/runner-home",
    GIT_DIR: "/elsewhere/.git",
    GIT_CONFIG_PARAMETERS: "'core.pager'='touch /tmp/x'",
    ANTHROPIC_API_KEY: "sk-secret",
    CMESH_RUN_ID: "r0",
    B: "b",
    "ODD-NAME": "x",
  };
  const shellNames = Object.keys(runnerEnv).filter((n) => n !== "ODD-NAME");
  const expected = Object.entries(gitEnv({ PATH: "/usr/bin:/bin", HOME: "/h" }))
    .map(([k, v]) => `${k}=${v}`).sort();
  const cases: [string, string[] | undefined, Record<string, string>][] = [
    [
      "unset in the shell",
      shellNames,
      Object.fromEntries(shellNames.map((n) => [n, runnerEnv[n as keyof typeof runnerEnv]])),
    ],
    ["a name the shell cannot unset: env -i", Object.keys(runnerEnv), runnerEnv],
    ["no names: env -i", undefined, runnerEnv],
  ];
  for (const [label, names, env] of cases) {
    const pre = inRunGitCalls(fakeGit, { PATH: "/usr/bin:/bin", HOME: "/h" }, [["status"]], names);
    assert.equal(pre.prefix[2].includes("/usr/bin/env"), label !== "unset in the shell", label);
    const { preamble } = await runPrefixed(dir, pre.prefix, pre.boundary, pre, ["/bin/true"], env);
    assert.ok(preamble.body, label);
    const [call] = splitPreamble(pre.calls, pre.boundary, preamble.body);
    assert.ok(call.ok, label);
    const seen = new TextDecoder().decode(call.stdout).trim().split("\n").sort();
    assert.deepEqual(seen, expected, label);
  }
});

Deno.test("in-run snapshot: no output, or too much, gives a reason", () => {
  const snap = inRunSnapshot(GIT, ENV);
  assert.equal(snap.preamble.marks, 1);
  const none = concludeInRunSnapshot(snap, {
    body: null,
    reason: "over 9 bytes",
    rest: new Uint8Array(),
  });
  assert.deepEqual(none, {
    snapshot: null,
    reason: "git snapshot in the run's sandbox: over 9 bytes",
  });
});

Deno.test("read-only evidence: one batch gives what before/after collection gives when nothing changes", async () => {
  const dir = repoWithCommit();
  Deno.writeTextFileSync(`${dir}/a.txt`, "one\nTWO\n");
  Deno.writeTextFileSync(`${dir}/tab\tname.txt`, "x\n");
  const before = await gitSnapshot(dir, GIT, ENV);
  const expected = await collectGitEvidence(dir, before, GIT, ENV);
  for (const runner of [GIT, WRAPPED]) {
    const got = await readOnlyGitEvidence(dir, runner, ENV);
    assert.deepEqual(got, expected);
  }
  assert.deepEqual(expected.git?.changed_files, ["a.txt"]);
  assert.match(
    expected.git?.diff_stat ?? "",
    /a\.txt \| 2 \+-\n 1 file changed, 1 insertion\(\+\), 1 deletion\(-\)/,
  );
});

Deno.test("read-only evidence: a clean tree is one start of git itself, no shell, no diff", async () => {
  const dir = repoWithCommit();
  const before = await gitSnapshot(dir, GIT, ENV);
  const expected = await collectGitEvidence(dir, before, GIT, ENV);
  const starts: string[][] = [];
  const counting = { gitBin: GIT, wrap: (argv: string[]) => (starts.push(argv), argv) };
  const got = await readOnlyGitEvidence(dir, counting, ENV, new DirtyTrees());
  assert.deepEqual(got, expected);
  assert.equal(got.git?.diff_stat, "");
  assert.deepEqual(got.git?.before?.status, ["?? old-untracked.txt"]);
  assert.deepEqual(starts.map((a) => [a[0], a.find((w) => w === "status" || w === "diff")]), [
    [GIT, "status"],
  ]);
});

Deno.test("read-only evidence: tracked changes get a diff, and the tree's next evidence one batch", async () => {
  const dir = repoWithCommit();
  Deno.writeTextFileSync(`${dir}/a.txt`, "one\nTWO\n");
  const expected = await collectGitEvidence(dir, await gitSnapshot(dir, GIT, ENV), GIT, ENV);
  const starts: string[][] = [];
  const counting = { gitBin: GIT, wrap: (argv: string[]) => (starts.push(argv), argv) };
  const trees = new DirtyTrees();
  const plan = async () => {
    starts.length = 0;
    const got = await readOnlyGitEvidence(dir, counting, ENV, trees);
    return {
      got,
      starts: starts.map((a) => a[0] === GIT ? a.at(-1) === "--" ? "diff" : "status" : a[0]),
    };
  };
  // First look: status alone shows the change, so the diff follows in a start of its own.
  assert.deepEqual(await plan(), { got: expected, starts: ["status", "diff"] });
  assert.ok(trees.has(dir));
  // Seen dirty: status and diff in one start (the shell runs both).
  assert.deepEqual(await plan(), { got: expected, starts: ["/bin/sh"] });
  // Committed: the batch sees a clean tree, and the next look is status alone again.
  sh(dir, "commit", "-q", "-am", "two");
  const clean = await plan();
  assert.deepEqual(clean.starts, ["/bin/sh"]);
  assert.equal(clean.got.git?.diff_stat, "");
  assert.deepEqual(clean.got.git?.changed_files, []);
  assert.equal(trees.has(dir), false);
  assert.deepEqual((await plan()).starts, ["status"]);
});

Deno.test("read-only evidence: a staged new file and a deletion count as tracked changes", async () => {
  const dir = repoWithCommit();
  Deno.writeTextFileSync(`${dir}/staged.txt`, "s\n");
  sh(dir, "add", "staged.txt");
  Deno.removeSync(`${dir}/keep.txt`);
  const got = await readOnlyGitEvidence(dir, WRAPPED, ENV, new DirtyTrees());
  assert.deepEqual(got.git?.changed_files, ["keep.txt", "staged.txt"]);
  assert.match(got.git?.diff_stat ?? "", /2 files changed, 1 insertion\(\+\), 1 deletion\(-\)/);
});

Deno.test("DirtyTrees forgets the tree seen longest ago, and a clean look forgets a tree", () => {
  const trees = new DirtyTrees(2);
  trees.note("/a", true);
  trees.note("/b", true);
  trees.note("/a", true); // seen again: now the newest
  trees.note("/c", true);
  assert.deepEqual(["/a", "/b", "/c"].map((d) => trees.has(d)), [true, false, true]);
  trees.note("/a", false);
  assert.equal(trees.has("/a"), false);
});

Deno.test("read-only evidence: a repository without commits diffs against the empty tree", async () => {
  const dir = Deno.realPathSync(Deno.makeTempDirSync());
  sh(dir, "init", "-q", "-b", "main");
  Deno.writeTextFileSync(`${dir}/staged.txt`, "s\n");
  sh(dir, "add", "staged.txt");
  const { git, reasons } = await readOnlyGitEvidence(dir, WRAPPED, ENV);
  assert.deepEqual(reasons, []);
  assert.equal(git?.before?.head, null);
  assert.deepEqual(git?.changed_files, ["staged.txt"]);
});
