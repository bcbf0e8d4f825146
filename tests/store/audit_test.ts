import assert from "node:assert/strict";
import { z } from "zod";
import { canonicalJson } from "../../src/util/canonical_json.ts";
import { sha256Hex } from "../../src/store/hash.ts";
import {
  appendAudit,
  AUDIT_GENESIS_HASH,
  auditRecordHash,
  exportAuditJsonl,
  listAudit,
} from "../../src/store/audit.ts";
import { verifyAudit } from "../../src/store/audit_verify.ts";
import { AUDIT_HASH_INPUT_SQL, auditHashInput } from "../../src/store/audit_chain.ts";
import { AuditRecord, VerifyReport } from "../../src/store/audit_schema.ts";
import { quoteRule } from "../../src/protocol/rules.ts";
import { steppingClock, tempStore } from "./_helpers.ts";

const ACTOR = { node: "laptop", stable_id: "nLAPTOP", login: "ann@example.com", tags: ["tag:dev"] };

Deno.test("the first record links to the genesis hash; each next one to the one before", () => {
  using store = tempStore({ now: steppingClock() });
  const a = appendAudit(store, { kind: "config.change", actor: { local: "cli" } });
  const b = appendAudit(store, {
    kind: "task.decision",
    task_id: "task_0000000001",
    actor: ACTOR,
    decision: "deny",
    rule: "inbound.allow[0].profile",
    reason: "profile build is not allowed",
    data: { profile: "build", cwd: "/srv/app" },
  });
  assert.equal(a.seq, 1);
  assert.equal(a.prev_hash, AUDIT_GENESIS_HASH);
  assert.equal(a.at, "2026-01-01T00:00:00.000Z");
  assert.equal(b.seq, 2);
  assert.equal(b.prev_hash, a.hash);
  assert.deepEqual(listAudit(store), [a, b]);
  assert.deepEqual(AuditRecord.parse(b), b);
});

Deno.test("hash = sha256_hex(canonicalJson({seq, at, kind, task_id, actor, ...prev_hash}))", () => {
  using store = tempStore();
  const r = appendAudit(store, {
    kind: "task.finish",
    task_id: "task_0000000001",
    actor: { z: 1, a: [true, null], "10": "x", "9": "y" },
    data: { nested: { b: 2, a: 1 }, text: 'é\n"\u0001🎉\u2028' },
  });
  const { hash: _hash, ...fields } = r;
  const spec = sha256Hex(canonicalJson({
    seq: fields.seq,
    at: fields.at,
    kind: fields.kind,
    task_id: fields.task_id,
    actor: fields.actor,
    decision: fields.decision,
    rule: fields.rule,
    reason: fields.reason,
    data: fields.data,
    prev_hash: fields.prev_hash,
  }));
  assert.equal(r.hash, spec);
  assert.equal(auditRecordHash(fields), spec);
});

Deno.test("the fast hash input (JS and SQL) equals canonicalJson of the record", () => {
  using store = tempStore();
  const texts = [
    "plain",
    'q"\\',
    "\n\r\t\b\f\u0000\u001f\u007f",
    "é 中文 🎉",
    "\u2028\u2029",
    "</x>",
  ];
  for (const t of texts) {
    appendAudit(store, {
      kind: t,
      task_id: t,
      reason: t,
      rule: quoteRule(t),
      actor: { t },
      data: { [t]: [t] },
    });
  }
  appendAudit(store, { kind: "nulls" });
  const rows = store.db.prepare(
    `SELECT seq, at, kind, task_id, actor, decision, rule, reason, data, prev_hash, hash,
       ${AUDIT_HASH_INPUT_SQL} AS sql_input FROM audit ORDER BY seq`,
  ).all() as unknown as (Parameters<typeof auditHashInput>[0] & { sql_input: string })[];
  for (const row of rows) {
    const record = listAudit(store, { afterSeq: row.seq - 1, limit: 1 })[0];
    const { hash: _h, ...fields } = record;
    const canonical = canonicalJson({ ...fields });
    assert.equal(auditHashInput(row), canonical, `JS input for seq ${row.seq}`);
    assert.equal(row.sql_input, canonical, `SQL input for seq ${row.seq}`);
  }
  assert.equal(verifyAudit(store).ok, true);
});

Deno.test("lone surrogates and NUL are stored as U+FFFD and the record still verifies", () => {
  using store = tempStore();
  const r = appendAudit(store, { kind: "x\ud800y", reason: "a\0b", data: { k: "\ud800\0" } });
  assert.equal(r.kind, "x\ufffdy");
  assert.equal(r.reason, "a\ufffdb");
  assert.deepEqual(r.data, { k: "\ud800\0" }, "JSON escapes keep data exact");
  assert.deepEqual(listAudit(store)[0], r);
  assert.deepEqual(verifyAudit(store), { ok: true, count: 1, head_hash: r.hash });
});

Deno.test("appendAudit validates its input", () => {
  using store = tempStore();
  const isZod = (e: unknown) => e instanceof z.ZodError;
  assert.throws(() => appendAudit(store, { kind: "" }), isZod);
  assert.throws(() => appendAudit(store, { kind: "x", decision: "maybe" as "allow" }), isZod);
  assert.throws(() => appendAudit(store, { kind: "x", extra: 1 } as never), isZod);
  assert.throws(() => appendAudit(store, { kind: "x", data: { n: NaN } }), TypeError);
  assert.deepEqual(listAudit(store), []);
});

Deno.test("appendAudit works inside a caller's transaction and rolls back with it", () => {
  using store = tempStore();
  appendAudit(store, { kind: "one" });
  assert.throws(() =>
    store.transaction(() => {
      appendAudit(store, { kind: "two" });
      appendAudit(store, { kind: "three" });
      throw new Error("rollback");
    })
  );
  const four = store.transaction(() => appendAudit(store, { kind: "four" }));
  assert.equal(four.seq, 2);
  assert.deepEqual(listAudit(store).map((r) => r.kind), ["one", "four"]);
  assert.equal(verifyAudit(store).ok, true);
});

Deno.test("verifyAudit: empty log, then a good chain", () => {
  using store = tempStore();
  assert.deepEqual(verifyAudit(store), { ok: true, count: 0, head_hash: AUDIT_GENESIS_HASH });
  let last = appendAudit(store, { kind: "k" });
  for (let i = 0; i < 4500; i++) last = appendAudit(store, { kind: "k", data: { i } });
  const report = verifyAudit(store);
  assert.deepEqual(report, { ok: true, count: 4501, head_hash: last.hash });
  assert.deepEqual(VerifyReport.parse(report), report);
});

Deno.test("verifyAudit inside a transaction sees the uncommitted records", () => {
  using store = tempStore();
  store.transaction(() => {
    appendAudit(store, { kind: "k" });
    assert.equal(verifyAudit(store).count, 1);
  });
});

Deno.test("the table refuses UPDATE and DELETE from the app's own connection", () => {
  using store = tempStore();
  appendAudit(store, { kind: "k" });
  assert.throws(() => store.db.exec("UPDATE audit SET kind = 'x'"), /append-only/);
  assert.throws(() => store.db.exec("DELETE FROM audit WHERE seq = 1"), /append-only/);
  assert.equal(verifyAudit(store).ok, true);
});

Deno.test("listAudit filters by task, time, seq; newest first; limit", () => {
  using store = tempStore({ now: steppingClock() });
  for (let i = 1; i <= 6; i++) {
    appendAudit(store, { kind: "k", task_id: i % 2 ? "task_odd_00001" : "task_even_0001" });
  }
  const seqs = (q: Parameters<typeof listAudit>[1]) => listAudit(store, q).map((r) => r.seq);
  assert.deepEqual(seqs({}), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(seqs({ taskId: "task_odd_00001" }), [1, 3, 5]);
  assert.deepEqual(seqs({ since: "2026-01-01T00:00:04.000Z" }), [5, 6]);
  assert.deepEqual(seqs({ afterSeq: 4 }), [5, 6]);
  assert.deepEqual(seqs({ newestFirst: true, limit: 2 }), [6, 5]);
  assert.deepEqual(seqs({ taskId: "task_even_0001", newestFirst: true, limit: 1 }), [6]);
});

Deno.test("export JSONL round-trip: lines parse, match the table, and re-verify offline", () => {
  using store = tempStore({ now: steppingClock() });
  for (let i = 0; i < 50; i++) {
    appendAudit(store, {
      kind: i % 2 ? "task.start" : "task.decision",
      task_id: `task_${String(i).padStart(10, "0")}`,
      actor: ACTOR,
      decision: i % 2 ? null : "allow",
      data: { i, "10": "ten", "9": "nine" },
    });
  }
  const lines: string[] = [];
  const summary = exportAuditJsonl(store, (l) => lines.push(l));
  assert.equal(lines.length, 50);
  assert.ok(lines.every((l) => !l.includes("\n")));
  const records = lines.map((l) => AuditRecord.parse(JSON.parse(l)));
  assert.deepEqual(records, listAudit(store, { limit: 1000 }));
  let prev = AUDIT_GENESIS_HASH;
  for (const r of records) {
    assert.equal(r.prev_hash, prev);
    assert.equal(auditRecordHash(r), r.hash, `seq ${r.seq} re-hashes from the export alone`);
    prev = r.hash;
  }
  const report = verifyAudit(store);
  assert.deepEqual(summary, { count: 50, head_hash: report.head_hash });
  assert.equal(prev, summary.head_hash);
});

Deno.test("export of an empty log writes nothing", () => {
  using store = tempStore();
  const lines: string[] = [];
  assert.deepEqual(exportAuditJsonl(store, (l) => lines.push(l)), {
    count: 0,
    head_hash: AUDIT_GENESIS_HASH,
  });
  assert.deepEqual(lines, []);
});
