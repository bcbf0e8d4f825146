import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { openStore } from "../../src/store/db.ts";
import { StoreError } from "../../src/store/errors.ts";
import {
  LATEST_SCHEMA_VERSION,
  migrate,
  MIGRATIONS,
  schemaVersion,
} from "../../src/store/migrations.ts";
import { auditRowHash } from "../../src/store/audit_chain.ts";
import { AUDIT_GENESIS_HASH } from "../../src/store/audit_schema.ts";
import { appendAudit } from "../../src/store/audit.ts";
import { verifyAudit } from "../../src/store/audit_verify.ts";
import { getResult, lastEvent } from "../../src/store/task_events.ts";
import { listTasks } from "../../src/store/task_queries.ts";
import { getTask, updateTaskState } from "../../src/store/tasks.ts";
import { tempDbPath } from "./_helpers.ts";

function tableNames(db: DatabaseSync): string[] {
  return db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all()
    .map((r) => String(r.name));
}

function columns(db: DatabaseSync, table: string): string[] {
  return db.prepare(`PRAGMA table_info(${table})`).all().map((r) => String(r.name));
}

/** Writes rows that a version-1 schema can hold (the columns every later version keeps). */
function insertV1Data(db: DatabaseSync): string {
  db.prepare(
    `INSERT INTO tasks (direction, id, peer, requester, requester_key, state, profile, runner,
       cwd, prompt, timeout_s, request_hash, created_at, updated_at)
     VALUES ('inbound', 'task_old_0001', 'laptop', '{"node":"laptop","stable_id":"n1","login":"a","tags":[]}',
       'n1', 'running', 'query', 'claude', '/srv', 'old prompt', 60, 'h1',
       '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z')`,
  ).run();
  db.prepare(
    `INSERT INTO task_events VALUES ('inbound', 'task_old_0001', 1, '2025-01-01T00:00:01.000Z',
       'message', 'hello', '{"k":1}')`,
  ).run();
  const result = {
    id: "task_old_0001",
    state: "succeeded",
    profile: "query",
    runner: "claude",
    cwd: "/srv",
    started_at: null,
    finished_at: null,
    claims: { final_text: "done", session_id: null },
    evidence: null,
    error: null,
  };
  db.prepare(
    "INSERT INTO task_results VALUES ('inbound', 'task_old_0001', ?, '2025-01-01T00:00:02.000Z')",
  ).run(JSON.stringify(result));
  const row = {
    seq: 1,
    at: "2025-01-01T00:00:00.000Z",
    kind: "task.decision",
    task_id: "task_old_0001",
    actor: '{"node":"laptop"}',
    decision: "allow",
    rule: "inbound.allow[0]",
    reason: "ok",
    data: null,
    prev_hash: AUDIT_GENESIS_HASH,
  };
  const hash = auditRowHash(row);
  db.prepare(
    `INSERT INTO audit (seq, at, kind, task_id, actor, decision, rule, reason, data, prev_hash, hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    row.seq,
    row.at,
    row.kind,
    row.task_id,
    row.actor,
    row.decision,
    row.rule,
    row.reason,
    row.data,
    row.prev_hash,
    hash,
  );
  return hash;
}

Deno.test("MIGRATIONS are numbered 1..n in order", () => {
  assert.ok(MIGRATIONS.length >= 2);
  MIGRATIONS.forEach((m, i) => assert.equal(m.version, i + 1));
  assert.equal(LATEST_SCHEMA_VERSION, MIGRATIONS.length);
});

Deno.test("fresh install: every table, column, index and trigger of the latest schema", () => {
  const tmp = tempDbPath();
  try {
    const store = openStore(tmp.path);
    assert.equal(schemaVersion(store.db), LATEST_SCHEMA_VERSION);
    assert.deepEqual(tableNames(store.db), [
      "audit",
      "peer_pins",
      "task_events",
      "task_results",
      "tasks",
    ]);
    assert.deepEqual(columns(store.db, "peer_pins"), [
      "name",
      "stable_id",
      "dns_name",
      "source",
      "pinned_at",
    ]);
    for (const c of ["run_token", "pgid", "remote_state", "requester_stable_id", "request_hash"]) {
      assert.ok(columns(store.db, "tasks").includes(c), c);
    }
    const objects = store.db.prepare(
      "SELECT name FROM sqlite_schema WHERE type IN ('index', 'trigger') AND sql IS NOT NULL",
    ).all().map((r) => String(r.name)).sort();
    assert.deepEqual(objects, [
      "audit_by_task",
      "audit_no_delete",
      "audit_no_update",
      "tasks_by_created",
      "tasks_by_requester_stable_id",
      "tasks_by_state",
    ]);
    store.close();
  } finally {
    tmp.cleanup();
  }
});

for (let from = 0; from < LATEST_SCHEMA_VERSION; from++) {
  Deno.test(`upgrade from schema ${from} keeps the data and adds the new schema`, () => {
    const tmp = tempDbPath();
    try {
      const old = new DatabaseSync(tmp.path);
      assert.equal(migrate(old, tmp.path, from), from);
      assert.equal(schemaVersion(old), from);
      const auditHash = from >= 1 ? insertV1Data(old) : null;
      old.close();

      const store = openStore(tmp.path);
      assert.equal(store.schemaVersion, LATEST_SCHEMA_VERSION);
      if (auditHash) {
        const task = getTask(store, "inbound", "task_old_0001")!;
        assert.equal(task.prompt, "old prompt");
        assert.equal(task.state, "running");
        assert.deepEqual(task.requester, { node: "laptop", stable_id: "n1", login: "a", tags: [] });
        // v6 renamed requester_key: the old rows' value is under the one name now.
        assert.equal(task.requester_stable_id, "n1");
        assert.deepEqual(
          listTasks(store, { direction: "inbound", requesterStableId: "n1" }).map((t) => t.id),
          ["task_old_0001"],
        );
        assert.equal(task.run_token, null); // column added by v2, empty for old rows
        assert.equal(task.remote_state, null);
        assert.equal(lastEvent(store, "inbound", "task_old_0001")?.text, "hello");
        assert.equal(getResult(store, "inbound", "task_old_0001")?.claims.final_text, "done");
        // The new columns work on old rows.
        assert.ok(updateTaskState(store, "inbound", "task_old_0001", "running", { pgid: 4242 }));
        assert.equal(getTask(store, "inbound", "task_old_0001")!.pgid, 4242);
        // The audit chain written before the upgrade continues and verifies.
        const next = appendAudit(store, { kind: "config.change" });
        assert.equal(next.prev_hash, auditHash);
        assert.deepEqual(verifyAudit(store), { ok: true, count: 2, head_hash: next.hash });
      }
      // v3's append-only triggers are in place after the upgrade.
      appendAudit(store, { kind: "test" });
      assert.throws(() => store.db.exec("DELETE FROM audit"), /append-only/);
      assert.throws(() => store.db.exec("UPDATE audit SET kind = 'x'"), /append-only/);
      store.close();
    } finally {
      tmp.cleanup();
    }
  });
}

Deno.test("a failing migration rolls back every step and names the version", () => {
  const tmp = tempDbPath();
  try {
    const old = new DatabaseSync(tmp.path);
    migrate(old, tmp.path, 1);
    // Something v2 wants to create already exists: v2 fails half-way.
    old.exec("CREATE INDEX tasks_by_state ON tasks (state)");
    old.close();
    assert.throws(() => openStore(tmp.path), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.equal(e.code, "migration_failed");
      assert.match(e.message, /migration to schema 2 .* failed: .*left at schema 1/);
      return true;
    });
    const check = new DatabaseSync(tmp.path);
    assert.equal(schemaVersion(check), 1);
    assert.ok(!columns(check, "tasks").includes("run_token"), "v2's ALTER TABLE was rolled back");
    check.close();
  } finally {
    tmp.cleanup();
  }
});

Deno.test("migrate refuses a target outside the known versions", () => {
  const db = new DatabaseSync(":memory:");
  assert.throws(() => migrate(db, ":memory:", LATEST_SCHEMA_VERSION + 1), RangeError);
  assert.throws(() => migrate(db, ":memory:", -1), RangeError);
  db.close();
});

Deno.test("migrate is a no-op at the latest version", () => {
  const db = new DatabaseSync(":memory:");
  assert.equal(migrate(db, ":memory:"), LATEST_SCHEMA_VERSION);
  assert.equal(migrate(db, ":memory:"), LATEST_SCHEMA_VERSION);
  assert.equal(migrate(db, ":memory:", 1), LATEST_SCHEMA_VERSION);
  db.close();
});
