// Verifying 100k records: correct at scale. Its speed (~0.3 s on a 2-core VM) is measured by
// `deno task bench`, not asserted here (no time bounds in tests).
import assert from "node:assert/strict";
import { appendAudit } from "../../src/store/audit.ts";
import { verifyAudit } from "../../src/store/audit_verify.ts";
import { tempStore } from "./_helpers.ts";

const N = 100_000;

Deno.test("verifyAudit over 100k records: ok, and a late break is found at its seq", () => {
  using store = tempStore();
  for (let start = 0; start < N; start += 10_000) {
    store.transaction(() => {
      for (let i = start; i < start + 10_000; i++) {
        appendAudit(store, {
          kind: "task.decision",
          task_id: `task_${String(i).padStart(10, "0")}`,
          actor: { node: "laptop", stable_id: "nLAPTOP", login: "ann@example.com", tags: [] },
          decision: i % 2 ? "allow" : "deny",
          rule: "inbound.allow[0]",
          reason: "profile query allowed for tag:dev",
          data: { profile: "query", cwd: "/srv/app" },
        });
      }
    });
  }
  let t = performance.now();
  const report = verifyAudit(store);
  const okMs = performance.now() - t;
  console.log(`verify ${N} records: ${okMs.toFixed(0)} ms`);
  assert.equal(report.ok, true);
  assert.equal(report.count, N);

  // Delete a record near the end and renumber the rest, then find it.
  store.db.exec("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;");
  store.db.exec("DELETE FROM audit WHERE seq = 99990");
  store.db.exec("UPDATE audit SET seq = seq - 1 WHERE seq > 99990");
  t = performance.now();
  const broken = verifyAudit(store);
  console.log(`verify + diagnose ${N - 1} records: ${(performance.now() - t).toFixed(0)} ms`);
  assert.equal(broken.ok, false);
  assert.deepEqual(
    { seq: broken.first_bad?.seq, problem: broken.first_bad?.problem },
    { seq: 99990, problem: "deleted" },
  );
  assert.equal(broken.count, N - 1);
});
