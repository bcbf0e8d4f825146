import assert from "node:assert/strict";
import { RunQueue } from "../../src/scheduler/queue.ts";
import { recoverInbound } from "../../src/scheduler/recovery.ts";
import { TaskBus } from "../../src/scheduler/task_bus.ts";
import { listAudit } from "../../src/store/audit.ts";
import { openStore } from "../../src/store/db.ts";
import { getTask, insertTask, updateTaskState } from "../../src/store/tasks.ts";

function add(store: ReturnType<typeof openStore>, id: string) {
  insertTask(store, {
    direction: "inbound",
    id,
    peer: "laptop",
    requester: { node: "laptop", stable_id: "nL", login: "a@x", tags: [] },
    requester_stable_id: "nL",
    profile: "query",
    runner: "demo",
    cwd: "/srv",
    prompt: "p",
    request_hash: id,
  });
}

Deno.test("recovery: running → interrupted (audited); queued tasks return with their peer limit", async () => {
  const store = openStore(":memory:");
  for (const id of ["t_running1", "t_queued01", "t_queued02"]) add(store, id);
  updateTaskState(store, "inbound", "t_running1", "running", {});
  const started: string[] = [];
  const queue = new RunQueue({ maxConcurrent: 4 }, (task, signal) => {
    started.push(task.id);
    return new Promise((r) => signal.addEventListener("abort", () => r()));
  });
  const asked: string[] = [];
  const report = await recoverInbound({
    store,
    bus: new TaskBus(),
    queue,
    tools: { gitBin: null, killBin: "/usr/bin/kill", psBin: "/usr/bin/ps" },
    nodeName: "server",
    peerMaxConcurrent: (t) => {
      asked.push(t.id);
      return 1;
    },
  });
  assert.deepEqual(report.interrupted, ["t_running1"]);
  assert.deepEqual(report.requeued.sort(), ["t_queued01", "t_queued02"]);
  assert.equal(getTask(store, "inbound", "t_running1")!.state, "interrupted");
  assert.ok(
    listAudit(store, { limit: 10 }).some((a) =>
      a.kind === "task.interrupted" && a.task_id === "t_running1"
    ),
  );
  assert.deepEqual(asked.sort(), ["t_queued01", "t_queued02"]);
  // The requester's limit of 1 holds after the restart: one runs, one waits.
  assert.deepEqual(queue.counts("nL"), { running: 1, queued: 1 });
  assert.equal(started.length, 1);
  await queue.close();
  store.close();
});
