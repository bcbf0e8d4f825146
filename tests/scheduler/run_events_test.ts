/** A run's events: all stored while under the cap; past it, the latest at most every tick. */
import assert from "node:assert/strict";
import { RunEvents } from "../../src/scheduler/run_events.ts";
import { TaskBus } from "../../src/scheduler/task_bus.ts";
import { lastEvent, listEvents } from "../../src/store/task_events.ts";
import { insertTask } from "../../src/store/tasks.ts";
import { sampleTask, tempStore } from "../store/_helpers.ts";

const ID = "t-run-events-01";

function world(everyMs: number) {
  const store = tempStore({ maxEventsPerTask: 5 });
  insertTask(store, sampleTask(ID));
  const bus = new TaskBus();
  let wakes = 0;
  bus.on(ID, () => wakes++);
  return { store, events: new RunEvents(store, bus, ID, everyMs), wakes: () => wakes };
}

const line = (i: number) => ({ kind: "message" as const, text: `line ${i}` });

Deno.test("RunEvents: under the cap every event is stored and announced at once", () => {
  const { store, events, wakes } = world(10_000);
  try {
    for (let i = 1; i <= 4; i++) events.push(line(i));
    assert.deepEqual(listEvents(store, "inbound", ID).map((e) => e.text), [
      "line 1",
      "line 2",
      "line 3",
      "line 4",
    ]);
    assert.equal(wakes(), 4);
    events.flush();
  } finally {
    store.close();
  }
});

Deno.test("RunEvents: past the cap a burst is one write of its newest event, at the flush at the latest", () => {
  const { store, events, wakes } = world(10_000);
  try {
    for (let i = 1; i <= 1000; i++) events.push(line(i));
    // The fifth event filled the cap; the 995 after it wait as one latest event.
    assert.equal(lastEvent(store, "inbound", ID)!.text, "line 5");
    assert.equal(wakes(), 5);
    events.flush();
    const stored = listEvents(store, "inbound", ID);
    assert.deepEqual(stored.map((e) => e.text), [
      "line 1",
      "line 2",
      "line 3",
      "line 4",
      "line 1000",
    ], "the first n - 1 and the very last one, as when every line is written");
    assert.equal(wakes(), 6);
    events.flush();
    assert.equal(wakes(), 6, "nothing pending: a second flush writes nothing");
  } finally {
    store.close();
  }
});

Deno.test("RunEvents: past the cap the latest event is written within a tick without a flush", async () => {
  const { store, events } = world(20);
  try {
    for (let i = 1; i <= 7; i++) events.push(line(i));
    for (let i = 0; i < 500 && lastEvent(store, "inbound", ID)!.text !== "line 7"; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(lastEvent(store, "inbound", ID)!.text, "line 7");
    events.flush();
  } finally {
    store.close();
  }
});
