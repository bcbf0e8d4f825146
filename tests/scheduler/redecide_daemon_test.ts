/**
 * The decision at dequeue through a real worker daemon (loopback, local-demo identity): a
 * task queued behind a running one survives a daemon restart as `queued`; the daemon comes
 * back with a config that no longer names the requester, and the task is refused before it
 * starts instead of running under the decision it was admitted with. The config is read at
 * start only (there is no reload), so a restart is how a narrowed config reaches a worker.
 * The second test delegates through a real requester daemon, which must show the refusal.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listAudit } from "../../src/store/audit.ts";
import { openStore } from "../../src/store/db.ts";
import { getTask } from "../../src/store/tasks.ts";
import { createMesh, createShWorker, shRunner } from "../support/mesh_world.ts";
import { controlClient } from "../reliability/_helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: "redecide (daemon): after a restart with the peer removed, its queued task is refused",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const mesh = await createShWorker({ inbound: { max_concurrent: 1 } });
    try {
      const submit = async (id: string, cwd: string, prompt: string) => {
        const res = await fetch(`${mesh.workerUrl}/v1/tasks`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ id, cwd, prompt, profile: "query" }),
        });
        const body = await res.json();
        assert.equal(res.status, 202, JSON.stringify(body));
      };
      const stateOf = async (id: string): Promise<string> => {
        const res = await fetch(`${mesh.workerUrl}/v1/tasks/${id}`);
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
        return body.task.state;
      };
      await submit("t_daemon_hang", mesh.repo, "sleep 600");
      await submit("t_daemon_wait", mesh.plain, "touch ran-here.txt");
      let hang;
      while ((hang = await stateOf("t_daemon_hang")) === "queued") await sleep(50);
      assert.equal(hang, "running");
      assert.equal(await stateOf("t_daemon_wait"), "queued");
      await mesh.stopWorker();

      // Narrow the config: the rule now names another peer only.
      const configPath = join(mesh.workerHome, "config.toml");
      const config = await Deno.readTextFile(configPath);
      assert.match(config, /peers = \[ "laptop" \]/);
      await Deno.writeTextFile(
        configPath,
        config.replace(/peers = \[ "laptop" \]/, 'peers = ["phone"]'),
      );
      await mesh.startWorker();
      // Recovery re-queued it at start; the task is still the caller's to look at.
      while (await stateOf("t_daemon_wait") === "queued") await sleep(50);
      await mesh.stopWorker();
      const store = openStore(mesh.workerDb);
      try {
        const t = getTask(store, "inbound", "t_daemon_wait")!;
        assert.equal(t.state, "denied", JSON.stringify(t));
        assert.equal(t.started_at, null);
        assert.equal(t.error?.code, "revoked");
        assert.equal(t.error?.rule, "inbound.no_matching_rule");
        const revoked = listAudit(store, { taskId: "t_daemon_wait", limit: 50 })
          .filter((a) => a.kind === "task.revoked");
        assert.equal(revoked.length, 1);
        assert.equal(revoked[0].rule, "inbound.no_matching_rule");
        assert.match(revoked[0].reason ?? "", /no \[\[inbound.allow\]\] rule/);
        assert.equal(getTask(store, "inbound", "t_daemon_hang")!.state, "interrupted");
      } finally {
        store.close();
      }
      assert.equal(
        await Deno.lstat(join(mesh.plain, "ran-here.txt")).then(() => true, () => false),
        false,
        "the refused task ran",
      );
    } finally {
      await mesh.destroy();
    }
  },
});

Deno.test({
  name:
    "redecide (daemon): the requester sees its queued delegation end denied/revoked with the rule",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const mesh = await createMesh({
      mode: "loopback",
      runners: { sh: shRunner() },
      inbound: { max_concurrent: 1 },
    });
    try {
      const control = controlClient(mesh);
      for (const [id, script] of [["t_req_hang01", "sleep 600"], ["t_req_wait01", "touch x"]]) {
        const r = await control.delegate(id, script);
        assert.equal(r.status, 202, JSON.stringify(r.json));
      }
      let hang;
      while ((hang = await control.state("t_req_hang01")) === "queued") await sleep(50);
      assert.equal(hang, "running");
      assert.equal(await control.state("t_req_wait01"), "queued");
      await mesh.stopWorker();
      const configPath = join(mesh.workerHome, "config.toml");
      const config = await Deno.readTextFile(configPath);
      await Deno.writeTextFile(
        configPath,
        config.replace(/peers = \[ "laptop" \]/, 'peers = ["phone"]'),
      );
      await mesh.startWorker();
      const settled = ["denied", "failed", "succeeded", "cancelled", "interrupted", "timed_out"];
      while (!settled.includes(await control.state("t_req_wait01") ?? "")) await sleep(100);
      const r = await control.call("GET", "/v1/tasks/t_req_wait01");
      const task = (r.json as { task: { state: string; error: { code: string; rule?: string } } })
        .task;
      assert.equal(task.state, "denied", JSON.stringify(r.json));
      // The worker's refusal, mirrored by the requester with the worker's rule.
      assert.equal(task.error.code, "revoked", JSON.stringify(task.error));
      assert.equal(task.error.rule, "inbound.no_matching_rule");
    } finally {
      await mesh.destroy();
    }
  },
});
