/**
 * The worker's caller-scoped task reads behind `/v1` (`src/worker/tasks.ts`): `since`, the one
 * read an event stream makes per wake-up, against the separate `status`/`events`/`result` reads
 * it replaces.
 */
import assert from "node:assert/strict";
import { idleWorkerTasks } from "../support/worker_tasks.ts";
import { Config } from "../../src/config/schema.ts";
import type { CallerIdentity } from "../../src/policy/types.ts";
import { finishTask } from "../../src/scheduler/finish.ts";
import { appendEvent } from "../../src/store/task_events.ts";
import { getTask } from "../../src/store/tasks.ts";
import { EVENTS_PAGE } from "../../src/worker/ports.ts";
import { laptop as laptopCaller } from "../policy/_helpers.ts";

const laptop = laptopCaller({ dnsName: "laptop.tail1.ts.net.", login: "alice@example.com" });
const phone: CallerIdentity = { ...laptop, node: "phone", stableId: "nPHONE" };

async function world() {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmesh-wtasks-" }));
  const config = Config.parse({
    inbound: {
      enabled: true,
      max_concurrent: 1,
      max_queue: 8,
      allow: [{ peers: ["laptop", "phone"], cwd: [root], runners: ["fake"] }],
    },
  });
  const { store, bus, queue, tasks } = await idleWorkerTasks(config);
  const submit = async (id: string) => {
    const out = await tasks.submit(
      laptop,
      { id, prompt: "look", cwd: root, profile: "query" },
      "100.64.0.2",
    );
    assert.ok(out.ok, JSON.stringify(out));
  };
  /** Ends `id` as the executor would (state, result, event and audit together). */
  const finish = (id: string, outcome: Parameters<typeof finishTask>[2]) =>
    finishTask({ store, bus, nodeName: "server" }, getTask(store, "inbound", id)!, outcome);
  return {
    store,
    tasks,
    submit,
    finish,
    async close() {
      await queue.close();
      store.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}

Deno.test("since: an open task's new events; another caller's task is null", async () => {
  const w = await world();
  try {
    await w.submit("t-open-0001");
    for (const text of ["one", "two", "three"]) {
      appendEvent(w.store, "inbound", "t-open-0001", { kind: "message", text });
    }
    const all = w.tasks.events(laptop, "t-open-0001", 0)!;
    const news = w.tasks.since(laptop, "t-open-0001", all[0].seq)!;
    assert.deepEqual(news, { events: all.slice(1), ended: null });
    assert.equal(w.tasks.since(phone, "t-open-0001", 0), null, "not the phone's task");
    assert.equal(w.tasks.since(laptop, "t-nothing-01", 0), null);
  } finally {
    await w.close();
  }
});

Deno.test("since: once terminal, the status and result equal what status and result read", async () => {
  const w = await world();
  try {
    await w.submit("t-done-0001");
    appendEvent(w.store, "inbound", "t-done-0001", { kind: "message", text: "said" });
    w.finish("t-done-0001", {
      state: "succeeded",
      claims: { final_text: "said", session_id: null },
      evidence: null,
      error: null,
    });
    const status = w.tasks.status(laptop, "t-done-0001")!;
    const result = w.tasks.result(laptop, "t-done-0001");
    const all = w.tasks.events(laptop, "t-done-0001", 0)!;
    // From the start, from the middle, and with nothing new: the last event is the task's.
    for (const after of [0, all[0].seq, all.at(-1)!.seq]) {
      const news = w.tasks.since(laptop, "t-done-0001", after)!;
      assert.deepEqual(news.events, all.filter((e) => e.seq > after));
      assert.deepEqual(news.ended, { status, result }, `after ${after}`);
    }
    assert.equal(status.state, "succeeded");
    assert.equal(status.last_event?.text, "succeeded");
  } finally {
    await w.close();
  }
});

Deno.test("since: a full page says the last event of the task, not of the page", async () => {
  const w = await world();
  try {
    await w.submit("t-many-0001");
    for (let i = 0; i < EVENTS_PAGE + 5; i++) {
      appendEvent(w.store, "inbound", "t-many-0001", { kind: "message", text: `line ${i}` });
    }
    w.finish("t-many-0001", {
      state: "failed",
      claims: { final_text: null, session_id: null },
      evidence: null,
      error: { code: "runner_failed", message: "no result" },
    });
    const news = w.tasks.since(laptop, "t-many-0001", 0)!;
    assert.equal(news.events.length, EVENTS_PAGE);
    assert.deepEqual(news.ended?.status, w.tasks.status(laptop, "t-many-0001"));
    assert.notEqual(news.ended?.status.last_event?.seq, news.events.at(-1)!.seq);
  } finally {
    await w.close();
  }
});
