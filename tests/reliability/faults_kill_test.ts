/**
 * Reliability: `kill -9` at random points. 60 tasks are delegated through a real requester
 * daemon to a real worker daemon (loopback, local-demo identity) in four waves; during each
 * wave, after a random delay, the test kills with SIGKILL: the worker daemon; the requester
 * daemon; two or three running runner processes; both daemons at once. Killed daemons are
 * started again; delegations cut off by a kill are repeated with the same client task id (as
 * a client would, relying on idempotency).
 *
 * Afterwards: every task is in a stored terminal state on the requester; the worker holds no
 * task still queued or running; both sides agree on every task they share; no task was run
 * twice; no process carrying the run marker of any task is alive (including the setsid'd
 * children some runs leave behind); both audit chains verify.
 */
import assert from "node:assert/strict";
import { createMesh, shRunner } from "../support/mesh_world.ts";
import { psRows } from "../support/proc.ts";
import { rng } from "./_malformed.ts";
import { auditVerify, controlClient, processesOfRuns, query, sleep, TERMINAL } from "./_helpers.ts";

const WAVES = ["worker", "requester", "runners", "both"] as const;
const PER_WAVE = 15;
const SCRIPTS = [
  "echo quick",
  "sleep 0.4; echo slow",
  // A child in its own session, left running: only the run marker can find it.
  "setsid sleep 300 & sleep 0.8; echo left-a-child",
  "sleep 2; echo long",
];

Deno.test({
  name: "reliability: kill -9 of worker, requester and runners across 60 tasks loses nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const mesh = await createMesh({
      mode: "loopback",
      runners: { sh: shRunner("sh", 300) },
      inbound: { max_concurrent: 4, max_queue: 200 },
    });
    const random = rng(7);
    const control = controlClient(mesh);
    const ids: string[] = [];
    const script = new Map<string, string>();
    const kills: string[] = [];
    try {
      for (const [w, wave] of WAVES.entries()) {
        const batch = Array.from({ length: PER_WAVE }, (_, i) => {
          const id = `t-kill-${w}-${String(i).padStart(3, "0")}`;
          script.set(id, SCRIPTS[Math.floor(random() * SCRIPTS.length)]);
          ids.push(id);
          return id;
        });
        // Submit in the background; the kill lands somewhere in the middle of it.
        const pending: string[] = [];
        const submitting = (async () => {
          for (const id of batch) {
            const r = await control.delegate(id, script.get(id)!);
            if (r.status !== 202) pending.push(id);
          }
        })();
        await sleep(150 + Math.floor(random() * 700));
        if (wave === "worker" || wave === "both") {
          kills.push(`wave ${w}: worker daemon ${mesh.worker!.child.pid}`);
          await mesh.stopWorker(true);
        }
        if (wave === "requester" || wave === "both") {
          kills.push(`wave ${w}: requester daemon ${mesh.requester!.child.pid}`);
          await mesh.stopRequester(true);
        }
        if (wave === "runners") {
          // Only this worker's runs (other tests may run runners at the same time).
          const runnersNow = async () => {
            const tokens = new Set(
              query<{ run_token: string }>(
                mesh.workerDb,
                "SELECT run_token FROM tasks WHERE state = 'running' AND run_token IS NOT NULL",
              ).map((t) => t.run_token),
            );
            return (await psRows()).filter((r) => {
              const token = /(?:^|\s)CMESH_RUN_ID=(\S+)/.exec(r.argsAndEnv)?.[1];
              return token !== undefined && tokens.has(token) &&
                r.argsAndEnv.startsWith("/bin/sh -c");
            });
          };
          // A run is `running` from just before its sandbox starts: give the shells a moment.
          let runners = await runnersNow();
          for (let i = 0; i < 50 && runners.length === 0; i++) {
            await sleep(100);
            runners = await runnersNow();
          }
          assert.ok(runners.length > 0, "runners were running when the kill came");
          for (const r of runners.slice(0, 3)) {
            kills.push(`wave ${w}: runner ${r.pid} (${r.argsAndEnv.slice(0, 40)})`);
            try {
              Deno.kill(r.pid, "SIGKILL");
            } catch { /* already gone */ }
          }
        }
        await sleep(200);
        if (!mesh.worker) await mesh.startWorker();
        if (!mesh.requester) await mesh.startRequester();
        await submitting;
        // Repeat what a kill cut off, with the same ids: idempotent.
        for (const id of pending) {
          const r = await control.delegate(id, script.get(id)!);
          assert.ok(
            [202, 502, 403].includes(r.status) || r.status === 409,
            `resubmitting ${id}: ${JSON.stringify(r)}`,
          );
        }
      }

      // Everything settles into a stored terminal state.
      const deadline = Date.now() + 60_000;
      const states = new Map<string, string | null>();
      for (const id of ids) {
        for (;;) {
          const s = await control.state(id);
          states.set(id, s);
          if ((s !== null && TERMINAL.includes(s)) || Date.now() > deadline) break;
          await sleep(200);
        }
      }
      const summary: Record<string, number> = {};
      for (const s of states.values()) summary[String(s)] = (summary[String(s)] ?? 0) + 1;
      console.log(`kills: ${kills.join("; ")}\nrequester states: ${JSON.stringify(summary)}`);
      const open = [...states].filter(([, s]) => s === null || !TERMINAL.includes(s));
      assert.deepEqual(open, [], "every task reached a stored terminal state on the requester");

      const worker = query<{ id: string; state: string; run_token: string | null }>(
        mesh.workerDb,
        "SELECT id, state, run_token FROM tasks WHERE direction = 'inbound'",
      );
      assert.deepEqual(
        worker.filter((t) => !TERMINAL.includes(t.state)).map((t) => `${t.id} ${t.state}`),
        [],
        "the worker holds no task still queued or running",
      );
      const disagree = worker.filter((t) => states.get(t.id) !== t.state)
        .map((t) => `${t.id}: worker ${t.state}, requester ${states.get(t.id)}`);
      assert.deepEqual(disagree, [], "both sides agree on every shared task");
      // Every id is accounted for: run on the worker, or stored on the requester as a failed
      // attempt that never reached it (the worker was down: refused, so nothing was sent).
      const onWorker = new Set(worker.map((t) => t.id));
      const undelivered = query<{ id: string; error: string | null }>(
        mesh.requesterDb,
        "SELECT id, error FROM tasks WHERE direction = 'outbound' AND state = 'failed'",
      ).filter((t) => !onWorker.has(t.id));
      assert.deepEqual(
        undelivered.filter((t) => !/"code":"(not_cmesh|unreachable)"/.test(t.error ?? ""))
          .map((t) => `${t.id}: ${t.error}`),
        [],
        "a task the worker never saw failed only because it could not be delivered",
      );
      assert.equal(worker.length + undelivered.length, ids.length, "no task is unaccounted for");
      assert.ok(worker.length >= ids.length / 2, `the worker saw most tasks (${worker.length})`);

      const runs = query<{ task_id: string; n: number }>(
        mesh.workerDb,
        "SELECT task_id, count(*) AS n FROM audit WHERE kind = 'task.start' GROUP BY task_id " +
          "HAVING n > 1",
      );
      assert.deepEqual(runs, [], "no task was started twice");

      const tokens = worker.map((t) => t.run_token).filter((t): t is string => t !== null);
      assert.ok(tokens.length > 0);
      // The final sweep and the recovery sweep are bounded waits; give them a moment.
      let alive: string[] = [];
      for (let i = 0; i < 50; i++) {
        alive = await processesOfRuns(tokens);
        if (alive.length === 0) break;
        await sleep(100);
      }
      assert.deepEqual(alive, [], "no runner process outlived its task");

      await mesh.stopRequester();
      await mesh.stopWorker();
      for (const home of [mesh.workerHome, mesh.requesterHome]) {
        const v = await auditVerify(home);
        assert.equal(v.code, 0, v.text);
      }
    } finally {
      await mesh.destroy();
    }
  },
});
