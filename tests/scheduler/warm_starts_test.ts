/**
 * Warm starts through a whole run (`src/scheduler/warm_starts.ts` with `executeRun`): after a
 * `query` run in a repository the same sandbox (runner's and git's) is started again; the next run
 * takes both, with the warm token and dir as its own, and gives the same result and evidence as the
 * cold one. A repository swapped for another at the same path after the warm start is not run in:
 * the run starts cold and its evidence is the new repository's. Runs real bwrap, git and /bin/sh.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveProcessTools } from "../../src/runner/process_list.ts";
import { executeRun } from "../../src/runner/run.ts";
import { probeSandbox } from "../../src/runner/sandbox/availability.ts";
import { hostLayout } from "../../src/runner/sandbox/host.ts";
import { planRunSandbox, type SandboxPlan } from "../../src/runner/sandbox/mod.ts";
import { WarmPool } from "../../src/runner/sandbox/warm_pool.ts";
import { delay } from "../../src/util/bounded_command.ts";
import { warmStartsFor } from "../../src/scheduler/warm_starts.ts";
import { makeRepo } from "../support/daemon.ts";
import { GIT, SH_RUNNER, varTmpTest } from "../support/sandbox_runs.ts";

const SH = SH_RUNNER;

/** One run through `warmStartsFor` (and its refill afterwards), as the executor does it. */
async function runOnce(pool: WarmPool, plan: SandboxPlan, cwd: string, base: string) {
  const warmth = warmStartsFor(pool, plan, cwd, (token) => join(base, "runs", token));
  const taken = warmth.starts.runner;
  const made = plan.at(warmth.runDir);
  assert.ok(made.ok);
  const lines: string[] = [];
  try {
    const outcome = await executeRun({
      invocation: {
        argv: ["/bin/sh", "-c", 'echo "$CMESH_RUN_ID $HOME"'],
        env: { PATH: "/usr/bin:/bin" },
        cwd,
        stdin: null,
      },
      manifest: SH,
      limits: { timeoutMs: 60_000, maxStdoutBytes: 1 << 20, maxStderrBytes: 1 << 16 },
      runToken: warmth.token,
      tools: { gitBin: GIT!, ...resolveProcessTools() },
      sandbox: made.sandbox,
      warm: warmth.starts,
      onEvent: (ev) => {
        if (ev.kind === "message") lines.push(String(ev.text));
      },
    });
    return { outcome, lines, warmth, taken };
  } finally {
    await made.sandbox.cleanup();
    warmth.refill();
  }
}

/** Waits (bounded) until the pool holds `n` sandboxes. */
async function poolHolds(pool: WarmPool, n: number): Promise<void> {
  for (let i = 0; i < 1000 && pool.size < n; i++) await delay(10);
  assert.equal(pool.size, n);
}

/** Waits (bounded) until the two waiting sandboxes' launchers have said what they bound. */
async function bothReady(runs: string): Promise<void> {
  const ready = () =>
    [...Deno.readDirSync(runs)].filter((d) => {
      try {
        return Deno.readTextFileSync(join(runs, d.name, "ctl", "ready")).endsWith("\n");
      } catch {
        return false;
      }
    }).length;
  for (let i = 0; i < 1000 && ready() < 2; i++) await delay(10);
  assert.equal(ready(), 2);
}

varTmpTest(
  "warm starts: the next query run takes the runner's and git's sandbox; same result",
  { prefix: "cmesh-ws-", git: true },
  async (base) => {
    const repo = join(base, "repo");
    await makeRepo(repo);
    const planned = planRunSandbox(
      { mode: "required", availability: await probeSandbox(), host: await hostLayout() },
      { profile: "query", cwd: repo, installPaths: [], configDirs: [], network: { kind: "none" } },
    );
    assert.ok(planned.ok && planned.plan?.key);
    const plan = planned.plan;
    const pool = new WarmPool({ max: 8, idleMs: 60_000 });
    try {
      const cold = await runOnce(pool, plan, repo, base);
      assert.equal(cold.taken, null, "nothing waited for the first run");
      assert.equal(cold.outcome.state, "succeeded", JSON.stringify(cold.outcome));
      assert.deepEqual(cold.lines, [`${cold.warmth.token} ${cold.warmth.runDir}/home`]);
      await poolHolds(pool, 2); // the runner's sandbox and git's

      const warm = await runOnce(pool, plan, repo, base);
      assert.ok(warm.taken?.launched, "the runner ran in the sandbox started ahead");
      assert.equal(warm.warmth.token, warm.taken.token);
      assert.deepEqual(warm.lines, [`${warm.taken.token} ${warm.taken.runDir}/home`]);
      assert.equal(pool.size, 0, "git's warm sandbox was taken too");
      assert.equal(warm.outcome.state, "succeeded");
      assert.deepEqual(warm.outcome.evidence.git, cold.outcome.evidence.git);
      assert.ok(warm.outcome.evidence.git?.before?.head, "a HEAD was read");
      await poolHolds(pool, 2);
      const leftovers = [...Deno.readDirSync(join(base, "runs"))].length;
      assert.equal(leftovers, 2, "only the two waiting sandboxes' dirs are left");

      // The repository is swapped for another at the same path once both have bound the old one:
      // neither warm sandbox runs.
      await bothReady(join(base, "runs"));
      await Deno.rename(repo, join(base, "old-repo"));
      await makeRepo(repo);
      await Deno.writeTextFile(join(repo, "new.txt"), "new\n");
      const swapped = await runOnce(pool, plan, repo, base);
      assert.ok(swapped.taken, "a warm runner sandbox was waiting");
      assert.equal(swapped.taken.launched, false, "the runner's warm sandbox was refused");
      assert.equal(swapped.outcome.state, "succeeded", JSON.stringify(swapped.outcome));
      assert.deepEqual(swapped.outcome.evidence.git?.before?.status, ["?? new.txt"]);
    } finally {
      await pool.close();
    }
  },
);
