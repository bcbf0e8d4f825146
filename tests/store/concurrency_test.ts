// Real cross-process safety: several `deno` processes open one fresh database at the same
// moment (racing through migrations) and interleave write transactions with this process.
import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { openStore } from "../../src/store/db.ts";
import { LATEST_SCHEMA_VERSION } from "../../src/store/migrations.ts";
import { appendAudit, listAudit } from "../../src/store/audit.ts";
import { verifyAudit } from "../../src/store/audit_verify.ts";
import { countActive, listTasks } from "../../src/store/task_queries.ts";
import { insertTask } from "../../src/store/tasks.ts";
import { sampleTask, tempDbPath } from "./_helpers.ts";

const WRITER = fromFileUrl(new URL("../testdata/store/concurrent_writer.ts", import.meta.url));
const ROOT = fromFileUrl(new URL("../../", import.meta.url));

Deno.test("processes racing to open and write one database: one schema, one unbroken chain", async () => {
  const tmp = tempDbPath();
  try {
    const perProcess = 150;
    const labels = ["alpha", "bravo", "charlie"];
    const startAt = Date.now() + 1500; // enough for every child to start and compile
    const children = labels.map((label) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--quiet",
          WRITER,
          tmp.path,
          label,
          String(perProcess),
          String(startAt),
        ],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).spawn()
    );
    while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 5));
    // This process races too: open, then write while the children write.
    const store = openStore(tmp.path, { busyTimeoutMs: 20000 });
    for (let i = 0; i < perProcess; i++) {
      const id = `local_${String(i).padStart(6, "0")}`;
      store.transaction(() => {
        insertTask(store, sampleTask(id));
        appendAudit(store, { kind: "task.decision", task_id: id });
      });
      await new Promise((r) => setTimeout(r, 1));
    }
    const outputs = await Promise.all(children.map((c) => c.output()));
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    outputs.forEach((out, i) => {
      assert.equal(out.code, 0, `${labels[i]} failed:\n${decode(out.stderr)}`);
      assert.deepEqual(JSON.parse(decode(out.stdout)), {
        label: labels[i],
        schemaVersion: LATEST_SCHEMA_VERSION,
      });
    });

    const total = perProcess * (labels.length + 1);
    const report = verifyAudit(store);
    assert.equal(report.ok, true, JSON.stringify(report.first_bad));
    assert.equal(report.count, total);
    const records = listAudit(store, { limit: total });
    assert.deepEqual(records.map((r) => r.seq), Array.from({ length: total }, (_, i) => i + 1));
    // The writers really did interleave (otherwise this test proves nothing).
    const writers = records.map((r) => r.task_id!.split("_")[0]);
    const switches = writers.filter((w, i) => i > 0 && w !== writers[i - 1]).length;
    console.log(`writer switches in the audit sequence: ${switches}`);
    assert.ok(switches > labels.length * 2, `only ${switches} switches between writers`);
    for (const label of labels) {
      assert.equal(
        listTasks(store, { direction: "inbound", peer: label, limit: 1000 }).length,
        perProcess,
      );
      assert.deepEqual(countActive(store, { direction: "inbound", requesterStableId: label }), {
        queued: perProcess,
        running: 0,
      });
    }
    const versions = store.db.prepare("PRAGMA user_version").get() as { user_version: number };
    assert.equal(versions.user_version, LATEST_SCHEMA_VERSION);
    store.close();
  } finally {
    tmp.cleanup();
  }
});
