/**
 * `Requester.wait`: a waiter for the end (`untilTerminal`) is not answered by changes that do
 * not end the task (it looks at the state alone then), gets every event once it ends, and the
 * status so far when its time is up. A waiter for events is answered by the first new one.
 */
import assert from "node:assert/strict";
import { Requester } from "../../src/delegation/requester.ts";
import { openStore } from "../../src/store/db.ts";
import { appendEvent } from "../../src/store/task_events.ts";
import { insertTask, updateTaskState } from "../../src/store/tasks.ts";

function world() {
  const store = openStore(":memory:");
  const requester = new Requester({
    store,
    self: "laptop",
    decide: () => {
      throw new Error("not used");
    },
    resolvePeer: () => Promise.reject(new Error("not used")),
  });
  const id = "t-wait-00000001";
  insertTask(store, {
    direction: "outbound",
    id,
    peer: "buildbox",
    profile: "query",
    runner: "claude",
    cwd: "/srv/app",
    prompt: "look",
    request_hash: "h",
  });
  const change = (fn: () => void) => {
    fn();
    requester.bus.emit(id);
  };
  return { store, requester, id, change };
}

/** Runs `fn` on a fresh world, closed afterwards whatever happens. */
async function withWorld(fn: (w: ReturnType<typeof world>) => Promise<void>): Promise<void> {
  const w = world();
  try {
    await fn(w);
  } finally {
    w.requester.close();
    w.store.close();
  }
}

Deno.test("wait until terminal: running and output do not answer it; the end does, with every event", () =>
  withWorld(async ({ store, requester, id, change }) => {
    let answered = false;
    const waiting = requester.wait(id, 0, 30_000, undefined, true).finally(() => answered = true);
    change(() => updateTaskState(store, "outbound", id, "running"));
    change(() => appendEvent(store, "outbound", id, { kind: "message", text: "working" }));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(answered, false, "not answered before the end");
    change(() => {
      store.transaction(() => {
        updateTaskState(store, "outbound", id, "succeeded");
        appendEvent(store, "outbound", id, { kind: "state", text: "succeeded on buildbox" });
      });
    });
    const out = await waiting;
    assert.equal(out?.status.state, "succeeded");
    assert.deepEqual(out?.events.map((e) => e.text), ["working", "succeeded on buildbox"]);
    assert.equal(out?.status.last_event?.text, "succeeded on buildbox");
  }));

Deno.test("wait until terminal: time up gives the status so far and its events; unknown id null", () =>
  withWorld(async ({ store, requester, id, change }) => {
    change(() => appendEvent(store, "outbound", id, { kind: "message", text: "still going" }));
    const out = await requester.wait(id, 0, 30, undefined, true);
    assert.equal(out?.status.state, "queued");
    assert.deepEqual(out?.events.map((e) => e.text), ["still going"]);
    assert.equal(await requester.wait("t-nothing-0001", 0, 30, undefined, true), null);
    // A task that ends while nobody looks: the first look answers.
    updateTaskState(store, "outbound", id, "failed");
    assert.equal((await requester.wait(id, 0, 30_000, undefined, true))?.status.state, "failed");
  }));

Deno.test("wait for events: the first new event answers it", () =>
  withWorld(async ({ store, requester, id, change }) => {
    const waiting = requester.wait(id, 0, 30_000);
    change(() => appendEvent(store, "outbound", id, { kind: "message", text: "first" }));
    const out = await waiting;
    assert.equal(out?.status.state, "queued");
    assert.deepEqual(out?.events.map((e) => e.text), ["first"]);
  }));
