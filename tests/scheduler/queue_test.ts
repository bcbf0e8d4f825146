import assert from "node:assert/strict";
import { RunQueue } from "../../src/scheduler/queue.ts";

function gate() {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { promise, resolve };
}

Deno.test("RunQueue honours the global concurrency limit in FIFO order", async () => {
  const started: string[] = [];
  const gates = new Map<string, ReturnType<typeof gate>>();
  const q = new RunQueue({ maxConcurrent: 2 }, async (task) => {
    started.push(task.id);
    const g = gate();
    gates.set(task.id, g);
    await g.promise;
  });
  for (const id of ["a", "b", "c"]) q.enqueue({ id, requesterStableId: "p" });
  assert.deepEqual(started, ["a", "b"]);
  assert.deepEqual(q.counts(), { running: 2, queued: 1 });
  assert.equal(q.position("c"), 1);
  gates.get("a")!.resolve();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(started, ["a", "b", "c"]);
  gates.get("b")!.resolve();
  gates.get("c")!.resolve();
  await q.close();
});

Deno.test("RunQueue holds a peer at its own limit and lets other peers pass", () => {
  const started: string[] = [];
  const q = new RunQueue({ maxConcurrent: 4 }, () => {
    started.push("x");
    return new Promise(() => {});
  });
  q.enqueue({ id: "p1-a", requesterStableId: "p1", peerMaxConcurrent: 1 });
  q.enqueue({ id: "p1-b", requesterStableId: "p1", peerMaxConcurrent: 1 });
  q.enqueue({ id: "p2-a", requesterStableId: "p2", peerMaxConcurrent: 1 });
  assert.deepEqual(q.counts("p1"), { running: 1, queued: 1 });
  assert.deepEqual(q.counts("p2"), { running: 1, queued: 0 });
  assert.equal(q.cancel("p1-b"), "dequeued");
  assert.equal(q.cancel("nope"), "unknown");
});

Deno.test("RunQueue cancel aborts a running task and duplicates are ignored", async () => {
  let aborted = "";
  const q = new RunQueue({ maxConcurrent: 1 }, (_task, signal) =>
    new Promise((resolve) => {
      signal.addEventListener("abort", () => {
        aborted = String(signal.reason);
        resolve();
      });
    }));
  q.enqueue({ id: "t1", requesterStableId: "p" });
  q.enqueue({ id: "t1", requesterStableId: "p" });
  assert.deepEqual(q.counts(), { running: 1, queued: 0 });
  assert.equal(q.cancel("t1", "user"), "aborted");
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(aborted, "user");
  assert.deepEqual(q.counts(), { running: 0, queued: 0 });
});
