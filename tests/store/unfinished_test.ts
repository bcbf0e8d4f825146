/**
 * @module
 * Tests of `hasUnfinishedTasks`: only `running` or `queued` tasks of the asked direction count.
 */
import assert from "node:assert/strict";
import { openStore } from "../../src/store/db.ts";
import { insertTask } from "../../src/store/tasks.ts";
import { hasUnfinishedTasks } from "../../src/store/unfinished.ts";
import { sampleTask } from "./_helpers.ts";

Deno.test("hasUnfinishedTasks: running or queued of that direction, nothing else", () => {
  const store = openStore(":memory:");
  try {
    assert.equal(hasUnfinishedTasks(store, "inbound"), false);
    const put = store.db.prepare("UPDATE tasks SET state = ?");
    insertTask(store, sampleTask("t1", { direction: "outbound" }));
    put.run("queued");
    assert.equal(hasUnfinishedTasks(store, "inbound"), false, "another direction");
    assert.equal(hasUnfinishedTasks(store, "outbound"), true);
    for (const [state, open] of [["running", true], ["succeeded", false], ["interrupted", false]]) {
      put.run(state as string);
      assert.equal(hasUnfinishedTasks(store, "outbound"), open, String(state));
    }
  } finally {
    store.close();
  }
});
