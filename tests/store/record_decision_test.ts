import assert from "node:assert/strict";
import { listAudit } from "../../src/store/audit.ts";
import { recordDecision } from "../../src/store/record_decision.ts";
import { getTask } from "../../src/store/tasks.ts";
import { sampleTask, tempStore } from "./_helpers.ts";

const audit = (id: string) => ({
  kind: "task.decision",
  task_id: id,
  actor: { node: "laptop" },
  data: { cwd: "/srv/app" },
});

Deno.test("recordDecision: a denial is its record alone, with rule and reason", () => {
  using store = tempStore();
  const r = recordDecision(store, audit("t_denied01"), {
    allow: false,
    rule: "inbound.no_matching_rule",
    reason: "no rule matches",
  });
  assert.equal(r.outcome, "denied");
  assert.equal(getTask(store, "inbound", "t_denied01"), null);
  const [rec] = listAudit(store, { taskId: "t_denied01" });
  assert.deepEqual(
    [rec.decision, rec.rule, rec.reason, rec.data],
    ["deny", "inbound.no_matching_rule", "no rule matches", { cwd: "/srv/app" }],
  );
});

Deno.test("recordDecision: an allow stores row and record once; a retry or conflict adds none", () => {
  using store = tempStore();
  const allow = (task = sampleTask("t_allowed1")) => ({
    allow: true as const,
    rule: "inbound.allow[0]" as const,
    reason: "ok",
    data: { rule_index: 0 },
    task,
  });
  assert.equal(recordDecision(store, audit("t_allowed1"), allow()).outcome, "created");
  assert.equal(recordDecision(store, audit("t_allowed1"), allow()).outcome, "existing");
  const other = sampleTask("t_allowed1", {
    prompt: "something else",
    request_hash: "x".repeat(64),
  });
  assert.equal(recordDecision(store, audit("t_allowed1"), allow(other)).outcome, "conflict");
  const records = listAudit(store, { taskId: "t_allowed1" });
  assert.equal(records.length, 1);
  assert.deepEqual(
    [records[0].decision, records[0].rule, records[0].data],
    ["allow", "inbound.allow[0]", { cwd: "/srv/app", rule_index: 0 }],
  );
  assert.equal(getTask(store, "inbound", "t_allowed1")?.state, "queued");
});
