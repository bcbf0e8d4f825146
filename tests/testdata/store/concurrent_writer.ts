/**
 * @module
 * A second process for tests/store/concurrency_test.ts: waits until a shared start time, opens
 * the store (racing the others through migrations), then writes `n` transactions, each a task,
 * an event and an audit record.
 *
 * Usage: deno run -A concurrent_writer.ts <db path> <label> <n> <start epoch ms>
 */
import { openStore } from "../../../src/store/db.ts";
import { appendAudit } from "../../../src/store/audit.ts";
import { appendEvent } from "../../../src/store/task_events.ts";
import { insertTask } from "../../../src/store/tasks.ts";

const [path, label, n, startAt] = Deno.args;
while (Date.now() < Number(startAt)) { /* spin: start as close to the others as possible */ }
const store = openStore(path, { busyTimeoutMs: 20000 });
for (let i = 0; i < Number(n); i++) {
  const id = `${label}_${String(i).padStart(6, "0")}`;
  store.transaction(() => {
    insertTask(store, {
      direction: "inbound",
      id,
      peer: label,
      requester_stable_id: label,
      profile: "query",
      runner: "claude",
      cwd: "/srv",
      prompt: "p",
      request_hash: "h",
    });
    appendEvent(store, "inbound", id, { kind: "state", text: "queued" });
    appendAudit(store, { kind: "task.decision", task_id: id, actor: { node: label } });
  });
  // Let the other writers in between transactions, as a daemon serving requests would.
  await new Promise((resolve) => setTimeout(resolve, 1));
}
console.log(JSON.stringify({ label, schemaVersion: store.schemaVersion }));
store.close();
