/**
 * The git evidence probes run inside the run's sandbox (cwd read-only, offline, private HOME) and
 * hardened: a repository that a run rewrote cannot make the worker's git run its filters, its
 * fsmonitor or its hooks outside the sandbox, and a cwd below the work tree's top still gets its
 * evidence. A cwd at the work tree's top gets its before snapshot in the run's own sandbox start,
 * and a read-only `query` cwd its whole evidence beside the run (git alone in a clean tree, a
 * batch in a tree last seen dirty). Runs real
 * bwrap, git and /bin/sh
 * through `executeRun`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveProcessTools } from "../../../src/runner/process_list.ts";
import { executeRun } from "../../../src/runner/run.ts";
import { probeSandbox } from "../../../src/runner/sandbox/availability.ts";
import { hostLayout } from "../../../src/runner/sandbox/host.ts";
import { prepareRunSandbox } from "../../../src/runner/sandbox/mod.ts";
import { makeRepo } from "../../support/daemon.ts";
import { GIT, SH_RUNNER, varTmpTest } from "../../support/sandbox_runs.ts";

const SH = SH_RUNNER;

async function run(
  cwd: string,
  runDir: string,
  script: string,
  profile = "edit",
  lines: string[] = [],
  gitStarts: string[] = [],
  beforeCleanup?: (runDir: string) => Promise<void>,
  repoTop?: Promise<string | null>,
) {
  const availability = await probeSandbox();
  const prepared = prepareRunSandbox(
    { mode: "required", availability, host: await hostLayout() },
    { profile, cwd, runDir, installPaths: [], configDirs: [], network: { kind: "host" } },
  );
  assert.ok(prepared.ok && prepared.sandbox, JSON.stringify(prepared));
  try {
    return await executeRun({
      invocation: {
        argv: ["/bin/sh", "-c", script],
        env: { PATH: "/usr/bin:/bin" },
        cwd,
        stdin: null,
      },
      manifest: SH,
      limits: { timeoutMs: 60_000, maxStdoutBytes: 1 << 20, maxStderrBytes: 1 << 16 },
      runToken: "r0123456789abcdef0123456789abcdef",
      tools: { gitBin: GIT!, ...resolveProcessTools() },
      // Each git probe wrapped on its own is one more sandbox start.
      sandbox: {
        ...prepared.sandbox,
        wrapGit: (command, repoTop) => {
          gitStarts.push(command.join(" "));
          return prepared.sandbox!.wrapGit(command, repoTop);
        },
      },
      onEvent: (ev) => {
        if (ev.kind === "message") lines.push(String(ev.text));
      },
      ...(repoTop ? { repoTop } : {}),
    });
  } finally {
    await beforeCleanup?.(runDir);
    await prepared.sandbox!.cleanup();
  }
}

/** A test on Linux with git, in a fresh base dir under /var/tmp (removed after). */
function gitSandboxTest(name: string, fn: (base: string) => Promise<void>): void {
  varTmpTest(name, { prefix: "cmesh-sbx-git-", git: true }, fn);
}

gitSandboxTest(
  "evidence: git runs sandboxed; a hostile .git/config runs nothing outside; subdir cwd",
  async (base) => {
    const repo = join(base, "repo");
    const sub = join(repo, "sub");
    await makeRepo(repo);
    await Deno.mkdir(sub);
    const marker = join(base, "pwned");
    // What a `build` run could leave in the repository for the worker's next git call.
    const config = await Deno.readTextFile(join(repo, ".git", "config"));
    await Deno.writeTextFile(
      join(repo, ".git", "config"),
      config +
        `[core]\n\tfsmonitor = "touch ${marker}-fsmonitor; false"\n\tpager = "touch ${marker}-pager"\n` +
        `[filter "evil"]\n\tclean = "sh -c 'touch ${marker}-filter; cat'"\n`,
    );
    await Deno.writeTextFile(join(repo, ".gitattributes"), "* filter=evil\n");
    const outcome = await run(sub, join(base, "run"), "echo made > made.txt");
    assert.equal(outcome.state, "succeeded", JSON.stringify(outcome));
    const git = outcome.evidence.git;
    assert.ok(git, "evidence from a cwd below the work tree's top");
    assert.ok(git.changed_files.includes("sub/made.txt"), JSON.stringify(git));
    for (const suffix of ["-fsmonitor", "-pager", "-filter"]) {
      await assert.rejects(Deno.stat(marker + suffix), Deno.errors.NotFound, suffix);
    }
  },
);

/** A repository whose `.git/config` runs a filter that leaves `marker` behind wherever it runs. */
async function hostileRepo(base: string, marker: string): Promise<string> {
  const repo = join(base, "repo");
  await makeRepo(repo);
  const config = await Deno.readTextFile(join(repo, ".git", "config"));
  await Deno.writeTextFile(
    join(repo, ".git", "config"),
    config + `[filter "evil"]\n\tclean = "sh -c 'touch ${marker}; cat'"\n`,
  );
  await Deno.writeTextFile(join(repo, ".gitattributes"), "* filter=evil\n");
  return repo;
}

gitSandboxTest(
  "evidence: at the work tree's top the snapshot is taken in the run's sandbox start; " +
    "the runner's output and the evidence stay apart",
  async (base) => {
    const marker = join(base, "pwned");
    const repo = await hostileRepo(base, marker);
    const lines: string[] = [];
    const script = "echo made > made.txt; echo said";
    const outcome = await run(repo, join(base, "run"), script, "edit", lines);
    assert.equal(outcome.state, "succeeded", JSON.stringify(outcome));
    assert.deepEqual(lines, ["said"]);
    assert.equal(outcome.claims.final_text, "said");
    const git = outcome.evidence.git;
    assert.ok(git?.before && git.after, JSON.stringify(git));
    assert.equal(git.before.head, git.after.head);
    assert.ok(!git.before.status.includes("?? made.txt"), JSON.stringify(git.before));
    assert.ok(git.after.status.includes("?? made.txt"), JSON.stringify(git.after));
    assert.ok(git.changed_files.includes("made.txt"), JSON.stringify(git));
    await assert.rejects(Deno.stat(marker), Deno.errors.NotFound);
  },
);

gitSandboxTest(
  "evidence: a query run (read-only cwd) gets its whole evidence beside the run, at the work " +
    "tree's top and below it: a dirty tree's first look is status then diff, its next one batch",
  async (base) => {
    const repo = join(base, "repo");
    await makeRepo(repo);
    const tracked = [...Deno.readDirSync(repo)].find((e) => e.isFile)!.name;
    await Deno.writeTextFile(join(repo, tracked), "changed before the run\n");
    await Deno.writeTextFile(join(repo, "untracked.txt"), "x\n");
    await Deno.mkdir(join(repo, "sub"));
    const cwds = [repo, repo, join(repo, "sub"), join(repo, "sub")];
    // Per start: the shell (a batch) or the git command git itself runs.
    const plans = [["status", "diff"], ["sh"], ["status", "diff"], ["sh"]];
    for (const [i, cwd] of cwds.entries()) {
      const [lines, gitStarts]: string[][] = [[], []];
      const outcome = await run(
        cwd,
        join(base, `run${i}`),
        "echo look; echo no > nope.txt || true",
        "query",
        lines,
        gitStarts,
      );
      assert.equal(outcome.state, "succeeded", JSON.stringify(outcome));
      const plan = gitStarts.map((a) =>
        a.startsWith("/bin/sh ") ? "sh" : / status /.test(a) ? "status" : "diff"
      );
      assert.deepEqual(plan, plans[i], `${cwd}: ${gitStarts.join("\n")}`);
      assert.deepEqual(lines, ["look"], cwd);
      const git = outcome.evidence.git;
      assert.ok(git?.before, JSON.stringify(git));
      assert.deepEqual(git.after, git.before);
      assert.ok(git.before.status.includes("?? untracked.txt"), JSON.stringify(git.before));
      assert.deepEqual(git.changed_files, [tracked]);
      assert.match(git.diff_stat ?? "", new RegExp(`${tracked.replace(".", "\\.")} +\\| +\\d+`));
      await assert.rejects(Deno.stat(join(cwd, "nope.txt")), Deno.errors.NotFound);
    }
  },
);

gitSandboxTest(
  "evidence: a query run in a clean tree starts git alone in the sandbox; a hostile filter " +
    "runs nothing outside",
  async (base) => {
    const marker = join(base, "pwned");
    const repo = await hostileRepo(base, marker);
    // Unsandboxed, this status runs the filter (the files were written in the index's second).
    const [lines, gitStarts]: string[][] = [[], []];
    const outcome = await run(repo, join(base, "run"), "echo look", "query", lines, gitStarts);
    assert.equal(outcome.state, "succeeded", JSON.stringify(outcome));
    assert.equal(gitStarts.length, 1, gitStarts.join("\n"));
    // No ahead/behind count: it walks the history to the upstream, and nothing reads it.
    assert.match(gitStarts[0], /^\/\S*git .* status --porcelain=v2 --branch --no-ahead-behind /);
    const git = outcome.evidence.git;
    assert.ok(git?.before, JSON.stringify(git));
    assert.equal(git.diff_stat, "");
    assert.deepEqual(git.changed_files, []);
    await assert.rejects(Deno.stat(marker), Deno.errors.NotFound);
  },
);

gitSandboxTest(
  "evidence: a hostile filter run by the worker's git cannot reach the network (seccomp where " +
    "bwrap applies it, else a namespace of its own), nor see /proc, nor outlive the call",
  async (base) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const c of listener) accepted.push(c);
    })().catch(() => {});
    try {
      const repo = join(base, "repo");
      await makeRepo(repo);
      const leftover = 3000 + Math.floor(Math.random() * 6000);
      // The filter dials the test's listener and notes how that went in the sandbox's /tmp.
      const dial = join(repo, ".git", "dial.sh");
      await Deno.writeTextFile(
        dial,
        `{ bash -c 'exec 3<>/dev/tcp/127.0.0.1/${listener.addr.port}'; echo "rc=$?"; } ` +
          ">>/tmp/dial.txt 2>&1\n" +
          "ls /proc/net >/dev/null 2>&1 && echo proc-net-visible >>/tmp/dial.txt\n" +
          // Left behind on purpose: nothing of a git call may outlive it.
          `setsid sleep ${leftover} </dev/null >/dev/null 2>&1 &\ncat\n`,
      );
      const config = await Deno.readTextFile(join(repo, ".git", "config"));
      await Deno.writeTextFile(
        join(repo, ".git", "config"),
        config + `[filter "dial"]\n\tclean = "sh ${dial}"\n`,
      );
      await Deno.writeTextFile(join(repo, ".gitattributes"), "* filter=dial\n");
      // A tracked file whose mtime no longer matches the index: git must hash it (the filter).
      const tracked = [...Deno.readDirSync(repo)].find((e) =>
        e.isFile && e.name !== ".gitattributes"
      )!;
      await Deno.utime(join(repo, tracked.name), 1_000_000, 1_000_000);
      let dialed = "";
      const outcome = await run(
        repo,
        join(base, "run"),
        "echo look",
        "query",
        [],
        [],
        async (d) => {
          dialed = await Deno.readTextFile(join(d, "tmp", "dial.txt")).catch(() => "");
        },
      );
      assert.equal(outcome.state, "succeeded", JSON.stringify(outcome));
      assert.ok(outcome.evidence.git?.before, JSON.stringify(outcome.evidence));
      assert.match(dialed, /rc=[1-9]/, "the filter ran in the git sandbox and could not connect");
      assert.doesNotMatch(dialed, /proc-net-visible/, "no /proc (nor the host's /proc/net)");
      if ((await probeSandbox()).ok && (await probeSandbox() as { seccomp?: boolean }).seccomp) {
        assert.match(dialed, /Operation not permitted/, dialed);
      }
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(accepted.length, 0, "nothing reached the listener");
      const left = await new Deno.Command("pgrep", { args: ["-f", `sleep ${leftover}`] }).output();
      assert.equal(new TextDecoder().decode(left.stdout), "", "the filter's process outlived git");
    } finally {
      listener.close();
      await accepting;
      for (const c of accepted) c.close();
    }
  },
);

gitSandboxTest(
  "evidence: the work tree's top looked up ahead by the caller is the one used",
  async (base) => {
    const repo = join(base, "repo");
    await makeRepo(repo);
    const none = await run(
      repo,
      join(base, "r1"),
      "echo hi",
      "query",
      [],
      [],
      undefined,
      Promise.resolve(null),
    );
    assert.equal(none.evidence?.git, null, "told there is no work tree: no git evidence");
    const starts: string[] = [];
    const found = await run(
      repo,
      join(base, "r2"),
      "echo hi",
      "query",
      [],
      starts,
      undefined,
      Promise.resolve(repo),
    );
    assert.equal(found.evidence?.git?.before?.head?.length, 40);
    assert.ok(starts.length > 0, "git ran in the tree it was given");
  },
);
