/**
 * Following many tasks at one peer over one `POST /v1/events` stream, against the real worker
 * app and tasks (on loopback, with a whois double): every task's events arrive once and in
 * order, results are stored, the requester holds one connection (not one per task, no
 * polling), the stream lingers for the next task and then closes, and a restarted requester
 * resumes where it stopped.
 */
import assert from "node:assert/strict";
import { idleWorkerTasks } from "../support/worker_tasks.ts";
import { Config } from "../../src/config/schema.ts";
import { dispatch as dispatchTask } from "../../src/delegation/dispatch.ts";
import { TaskFollower } from "../../src/delegation/follower.ts";
import { PeerClient } from "../../src/delegation/peer_client.ts";
import { finishTask } from "../../src/scheduler/finish.ts";
import { TaskBus } from "../../src/scheduler/task_bus.ts";
import { openStore } from "../../src/store/db.ts";
import { requestHash } from "../../src/store/hash.ts";
import { appendEvent, getResult, listEvents } from "../../src/store/task_events.ts";
import { getTask, insertTask, updateTaskState } from "../../src/store/tasks.ts";
import { createWorkerApp } from "../../src/worker/app.ts";
import { laptop as laptopCaller } from "../policy/_helpers.ts";

const laptop = laptopCaller();

async function worker() {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmesh-stream-" }));
  const config = Config.parse({
    inbound: {
      enabled: true,
      max_concurrent: 200,
      max_queue: 1000,
      allow: [{ peers: ["laptop"], cwd: [root], runners: ["fake"] }],
    },
  });
  const { store, bus, queue, tasks } = await idleWorkerTasks(config, {
    maxConcurrent: 1000,
    nodeName: "buildbox",
  });
  const app = createWorkerApp({
    tasks,
    identity: { whois: () => Promise.resolve({ ok: true, identity: laptop }) },
    source: { allowLoopback: true },
    // The front door's Host check is tested in tests/worker/app_test.ts.
    hosts: { allowed: (h) => h.startsWith("127.0.0.1:"), describe: () => "127.0.0.1" },
    maxBodyBytes: 256 * 1024,
    heartbeatS: 0.2, // a dropped stream is noticed at the next write
  });
  const requests: string[] = [];
  let openStreams = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req, info) => {
      const route = `${req.method} ${new URL(req.url).pathname}`;
      requests.push(route);
      const res = await app.fetch(req, { remoteAddr: info.remoteAddr });
      if (route !== "POST /v1/events" || !res.body) return res;
      // Counts the event streams open now: one ends when its body ends or the client leaves.
      openStreams++;
      const reader = res.body.getReader();
      let ended = false;
      const end = () => {
        if (!ended) openStreams--;
        ended = true;
      };
      const body = new ReadableStream<Uint8Array>({
        async pull(c) {
          const { done, value } = await reader.read().catch(() => ({
            done: true,
            value: undefined,
          }));
          if (done) {
            end();
            c.close();
          } else c.enqueue(value);
        },
        cancel(reason) {
          end();
          return reader.cancel(reason);
        },
      });
      return new Response(body, { status: res.status, headers: res.headers });
    },
  );
  const address = { name: "buildbox", host: "127.0.0.1", port: (server.addr as Deno.NetAddr).port };
  return {
    root,
    store,
    bus,
    address,
    requests,
    openStreams: () => openStreams,
    event(id: string, text: string) {
      appendEvent(store, "inbound", id, { kind: "message", text });
      bus.emit(id);
    },
    finish(id: string, text = `done ${id}`) {
      finishTask({ store, bus, nodeName: "buildbox" }, getTask(store, "inbound", id)!, {
        state: "succeeded",
        claims: { final_text: text, session_id: null },
        evidence: null,
        error: null,
      });
    },
    async close() {
      await server.shutdown();
      await queue.close();
      store.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}

/** Records and dispatches `n` outbound tasks at the worker, as the requester does. */
async function dispatch(
  w: Awaited<ReturnType<typeof worker>>,
  store: ReturnType<typeof openStore>,
  n: number,
  prefix = "t-stream-",
) {
  const client = new PeerClient(w.address);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}${String(i).padStart(4, "0")}`;
    const req = { id, prompt: `task ${i}`, cwd: w.root, profile: "query" as const };
    insertTask(store, {
      direction: "outbound",
      id,
      peer: "buildbox",
      profile: "query",
      runner: "fake",
      cwd: w.root,
      prompt: req.prompt,
      request_hash: requestHash(req as never),
    });
    const r = await client.submit(req as never);
    assert.equal(r.ok, true, JSON.stringify(r));
    updateTaskState(store, "outbound", id, "queued", { remote_state: "queued" });
    ids.push(id);
  }
  return ids;
}

function remoteSeqs(store: ReturnType<typeof openStore>, id: string): number[] {
  return listEvents(store, "outbound", id, 0, 100_000)
    .map((e) => (e.data as { remote_seq?: number } | undefined)?.remote_seq)
    .filter((s): s is number => typeof s === "number");
}

function allTerminal(store: ReturnType<typeof openStore>, bus: TaskBus, ids: string[]) {
  const open = () =>
    ids.filter((id) => ["queued", "running"].includes(getTask(store, "outbound", id)!.state));
  return new Promise<void>((resolve) => {
    if (!open().length) return resolve();
    const offs = ids.map((id) =>
      bus.on(id, () => {
        if (!open().length) {
          offs.forEach((f) => f());
          resolve();
        }
      })
    );
  });
}

/** Resolves once every task has mirrored `count` remote events. */
function mirrored(store: ReturnType<typeof openStore>, bus: TaskBus, ids: string[], count: number) {
  const behind = () => ids.filter((id) => remoteSeqs(store, id).length < count);
  return new Promise<void>((resolve) => {
    if (!behind().length) return resolve();
    const offs = ids.map((id) =>
      bus.on(id, () => {
        if (!behind().length) {
          offs.forEach((f) => f());
          resolve();
        }
      })
    );
  });
}

/** A worker app, a requester store and a follower of it; all closed after `fn`. */
async function withFollower(
  fn: (
    w: Awaited<ReturnType<typeof worker>>,
    r: { store: ReturnType<typeof openStore>; bus: TaskBus; follower: TaskFollower },
  ) => Promise<void>,
  streamLingerMs?: number,
): Promise<void> {
  const w = await worker();
  const store = openStore(":memory:");
  const bus = new TaskBus();
  const follower = new TaskFollower({ store, bus, self: "laptop", pollMs: 10, streamLingerMs });
  try {
    await fn(w, { store, bus, follower });
  } finally {
    follower.close();
    store.close();
    await w.close();
  }
}

Deno.test("one stream follows 60 tasks: every event once, in order; results stored", async () => {
  await withFollower(async (w, { store, bus, follower }) => {
    const ids = await dispatch(w, store, 60);
    for (const id of ids) follower.follow(getTask(store, "outbound", id)!, w.address);
    // Interleaved progress across tasks, then every task ends.
    for (let round = 0; round < 3; round++) {
      for (const id of ids) w.event(id, `step ${round} of ${id}`);
    }
    for (const id of ids) w.finish(id);
    await allTerminal(store, bus, ids);
    for (const id of ids) {
      const t = getTask(store, "outbound", id)!;
      assert.equal(t.state, "succeeded", id);
      // Three messages (1-3), succeeded (4): each once, in order.
      assert.deepEqual(remoteSeqs(store, id), [1, 2, 3, 4], id);
      const texts = listEvents(store, "outbound", id)
        .filter((e) => (e.data as { remote_seq?: number } | undefined)?.remote_seq)
        .map((e) => e.text);
      assert.deepEqual(texts, [0, 1, 2].map((r) => `step ${r} of ${id}`).concat("succeeded"));
      assert.equal(getResult(store, "outbound", id)?.claims.final_text, `done ${id}`);
    }
    // One event stream for all 60 tasks; no per-task streams and no status polling while open.
    const streams = w.requests.filter((r) => r === "POST /v1/events");
    assert.equal(
      streams.length,
      1,
      w.requests.filter((r) => !r.startsWith("POST /v1/tasks")).join(", "),
    );
    assert.equal(w.requests.filter((r) => /^GET \/v1\/tasks\/[^/]+\/events$/.test(r)).length, 0);
    // The outcomes came with the stream: no status or result asked for afterwards.
    assert.deepEqual(w.requests.filter((r) => r.startsWith("GET ")), []);
  });
});

/** Resolves once `ok()` holds, looking every 10 ms (the test's own timeout bounds it). */
async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((r) => setTimeout(r, 10));
}

Deno.test("the stream stays open for the next task while it lingers, and closes after", async () => {
  // A long linger: the second task, dispatched after the first ended, finds the stream open.
  await withFollower(async (w, { store, bus, follower }) => {
    const [first] = await dispatch(w, store, 1);
    follower.follow(getTask(store, "outbound", first)!, w.address);
    w.finish(first);
    await allTerminal(store, bus, [first]);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(w.openStreams(), 1, "the stream lingers with no task");
    const [id] = await dispatch(w, store, 1, "t-next-");
    follower.follow(getTask(store, "outbound", id)!, w.address);
    w.event(id, "working");
    w.finish(id);
    await allTerminal(store, bus, [id]);
    assert.deepEqual(remoteSeqs(store, id), [1, 2]);
    assert.equal(getResult(store, "outbound", id)?.claims.final_text, `done ${id}`);
    assert.equal(w.requests.filter((r) => r === "POST /v1/events").length, 1);
    assert.deepEqual(w.requests.filter((r) => r.startsWith("GET ")), []);
  }, 60_000);
  // A short one: the stream closes by itself once its last task ended.
  await withFollower(async (w, { store, bus, follower }) => {
    const [id] = await dispatch(w, store, 1);
    follower.follow(getTask(store, "outbound", id)!, w.address);
    await until(() => w.openStreams() === 1);
    w.finish(id);
    await allTerminal(store, bus, [id]);
    await until(() => w.openStreams() === 0);
  }, 50);
});

Deno.test("a restarted requester resumes each task where it stopped, nothing twice", async () => {
  const w = await worker();
  const store = openStore(":memory:");
  const bus = new TaskBus();
  let follower = new TaskFollower({ store, bus, self: "laptop", pollMs: 10 });
  try {
    const ids = await dispatch(w, store, 20);
    for (const id of ids) follower.follow(getTask(store, "outbound", id)!, w.address);
    for (const id of ids) w.event(id, "before the restart");
    await mirrored(store, bus, ids, 1);
    follower.close(); // the requester stops
    // Meanwhile at the worker: more progress, and half the tasks end.
    for (const id of ids) w.event(id, "while the requester was down");
    for (const id of ids.slice(0, 10)) w.finish(id);
    follower = new TaskFollower({ store, bus, self: "laptop", pollMs: 10 });
    for (const id of ids) follower.follow(getTask(store, "outbound", id)!, w.address);
    await mirrored(store, bus, ids, 2);
    for (const id of ids.slice(10)) w.finish(id);
    await allTerminal(store, bus, ids);
    for (const id of ids) {
      assert.equal(getTask(store, "outbound", id)!.state, "succeeded", id);
      assert.deepEqual(remoteSeqs(store, id), [1, 2, 3], id);
    }
    assert.equal(w.requests.filter((r) => r === "POST /v1/events").length, 2);
  } finally {
    follower.close();
    store.close();
    await w.close();
  }
});

Deno.test("an outcome too large to ride along is asked for: status, then result", async () => {
  await withFollower(async (w, { store, bus, follower }) => {
    const [big, small] = await dispatch(w, store, 2);
    for (const id of [big, small]) follower.follow(getTask(store, "outbound", id)!, w.address);
    const large = "x".repeat(300 * 1024);
    w.finish(big, large);
    w.finish(small);
    await allTerminal(store, bus, [big, small]);
    assert.equal(getResult(store, "outbound", big)?.claims.final_text, large);
    assert.equal(getResult(store, "outbound", small)?.claims.final_text, `done ${small}`);
    assert.deepEqual(w.requests.filter((r) => r.startsWith("GET ")).sort(), [
      `GET /v1/tasks/${big}`,
      `GET /v1/tasks/${big}/result`,
    ]);
  });
});

Deno.test("a task that runs and ends before its dispatch is followed is taken from the open stream", async () => {
  await withFollower(async (w, { store, bus, follower }) => {
    const [a, b] = await dispatch(w, store, 2);
    // The stream is open for `a`; `b` was submitted (its 202 is still on the way back).
    updateTaskState(store, "outbound", b, "queued", { remote_state: null });
    const stale = getTask(store, "outbound", b)!;
    follower.follow(getTask(store, "outbound", a)!, w.address);
    w.event(a, "a is running");
    await mirrored(store, bus, [a], 1);
    w.event(b, "b step");
    w.finish(b);
    await allTerminal(store, bus, [b]);
    assert.deepEqual(remoteSeqs(store, b), [1, 2]);
    assert.equal(getResult(store, "outbound", b)?.claims.final_text, `done ${b}`);
    // Following it now (with the record read before it ended) changes nothing.
    follower.follow(stale, w.address);
    w.finish(a);
    await allTerminal(store, bus, [a]);
    assert.equal(getTask(store, "outbound", b)!.state, "succeeded");
    assert.deepEqual(w.requests.filter((r) => r.startsWith("GET ")), []);
    assert.equal(w.requests.filter((r) => r === "POST /v1/events").length, 1);
  });
});

Deno.test("the peer's late 202 does not undo what its event stream already stored", async () => {
  const w = await worker();
  const store = openStore(":memory:");
  const bus = new TaskBus();
  try {
    for (const [n, told] of [[1, "running"], [2, "succeeded"]] as const) {
      const id = `t-late-answer-000${n}`;
      const request = { id, prompt: "p", cwd: w.root, profile: "query" as const };
      insertTask(store, {
        direction: "outbound",
        id,
        peer: "buildbox",
        profile: "query",
        runner: "fake",
        cwd: w.root,
        prompt: "p",
        request_hash: requestHash(request as never),
      });
      // As if the stream told this while the submission's answer ("queued") was on its way.
      updateTaskState(store, "outbound", id, told, { remote_state: told });
      const followed: string[] = [];
      const out = await dispatchTask({
        store,
        bus,
        self: "laptop",
        follow: (t) => followed.push(t.id),
        status: () => null,
      }, {
        request: request as never,
        peer: "buildbox",
        recorded: { outcome: "created", task: getTask(store, "outbound", id)! },
        resolved: { ok: true, address: w.address },
      });
      assert.equal(out.ok, true);
      assert.equal(getTask(store, "outbound", id)!.state, told);
      const texts = listEvents(store, "outbound", id).map((e) => e.text);
      assert.ok(!texts.some((t) => t.startsWith("accepted by")), texts.join(", "));
      assert.deepEqual(followed, told === "running" ? [id] : []);
    }
  } finally {
    store.close();
    await w.close();
  }
});
