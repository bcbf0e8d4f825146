/**
 * Sandboxes started ahead through a real worker daemon (loopback, local-demo identity, bwrap):
 * after a task, the same sandbox waits for the next one, which runs in it (its launcher is gone,
 * the result is right); with `[sandbox] start_ahead_s = 0` nothing waits. The daemon's stop ends
 * what waits.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createShWorker } from "../support/mesh_world.ts";
import { waitAtMost } from "../../src/util/bounded_command.ts";
import { pidsMatching, untilNoneMatch, warmLaunchersUnder } from "../support/sandbox_runs.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runTask(workerUrl: string, id: string, cwd: string, prompt: string) {
  const res = await fetch(`${workerUrl}/v1/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id, cwd, prompt, profile: "query" }),
  });
  assert.equal(res.status, 202, await res.text());
  for (;;) {
    const body = await (await fetch(`${workerUrl}/v1/tasks/${id}/result`)).json();
    if (body.result) return body.result;
    await sleep(20);
  }
}

function warmTest(
  name: string,
  startAheadS: number | undefined,
  fn: (w: {
    workerUrl: string;
    repo: string;
    stateDir: string;
    /** Stops the worker (kill -9) and starts it again. */
    restart(): Promise<void>;
  }) => Promise<void>,
) {
  Deno.test({
    name,
    ignore: Deno.build.os !== "linux",
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const mesh = await createShWorker(
        startAheadS === undefined ? {} : { sandbox: { start_ahead_s: startAheadS } },
      );
      const stateDir = join(mesh.workerHome, "state");
      try {
        const restart = async () => {
          await mesh.stopWorker(true);
          await mesh.startWorker();
        };
        await fn({ workerUrl: mesh.workerUrl, repo: mesh.repo, stateDir, restart });
        await mesh.stopWorker();
        const left = await untilNoneMatch(warmLaunchersUnder(stateDir));
        assert.deepEqual(left, [], "the daemon's stop ended what waited");
      } finally {
        await mesh.destroy();
      }
    },
  });
}

warmTest(
  "start ahead (daemon): the next task runs in the sandbox that waited",
  undefined,
  async (w) => {
    const first = await runTask(w.workerUrl, "t_warm_1", w.repo, "echo first");
    assert.equal(first.state, "succeeded", JSON.stringify(first));
    let waiting: number[] = [];
    for (let i = 0; i < 500 && waiting.length === 0; i++) {
      waiting = await pidsMatching(warmLaunchersUnder(w.stateDir));
      await sleep(10);
    }
    assert.ok(waiting.length > 0, "a sandbox waits for the next task");
    // The launcher has made its FIFO: it is ready (the run would wait for it otherwise).
    await sleep(200);
    const second = await runTask(w.workerUrl, "t_warm_2", w.repo, 'echo "second in $HOME"');
    assert.equal(second.state, "succeeded", JSON.stringify(second));
    assert.match(second.claims.final_text, /^second in .*\/runs\/r[0-9a-f]+\/home$/);
    const gone = await pidsMatching(warmLaunchersUnder(w.stateDir));
    for (const pid of waiting) assert.ok(!gone.includes(pid), `launcher ${pid} was taken`);
    assert.deepEqual(second.evidence.git.before, first.evidence.git.before, "same evidence");
  },
);

warmTest("start ahead (daemon): start_ahead_s = 0 starts nothing ahead", 0, async (w) => {
  const r = await runTask(w.workerUrl, "t_cold_1", w.repo, "echo cold");
  assert.equal(r.state, "succeeded", JSON.stringify(r));
  await sleep(500);
  assert.deepEqual(await pidsMatching(warmLaunchersUnder(w.stateDir)), []);
});

warmTest(
  "start ahead (daemon): a restart stops what a crash left carrying a run dir's token",
  undefined,
  async (w) => {
    // What a crash can leave: a process marked with the token of a run dir, as a sandbox started
    // ahead is (here a plain `sleep`, so the test does not depend on catching bwrap mid-start).
    const token = "r0123456789abcdef0123456789abcdef";
    await Deno.mkdir(join(w.stateDir, "runs", token, "home"), { recursive: true });
    const left = new Deno.Command("/bin/sleep", {
      args: ["600"],
      env: { CMESH_RUN_ID: token },
      clearEnv: true,
    }).spawn();
    try {
      await w.restart();
      assert.ok(await waitAtMost(left.status, 10_000), "the leftover was stopped at start");
      assert.equal((await left.status).signal, "SIGKILL");
    } finally {
      try {
        left.kill("SIGKILL");
      } catch { /* stopped */ }
      await left.status;
    }
    await assert.rejects(Deno.stat(join(w.stateDir, "runs", token)), Deno.errors.NotFound);
  },
);
