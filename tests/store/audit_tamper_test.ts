// Tampering with the audit table the way someone with write access to the file would: through
// a second connection (or the sqlite3 CLI), after dropping the append-only triggers. Each case
// must be reported at the exact seq, with the right kind of problem.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { appendAudit } from "../../src/store/audit.ts";
import { verifyAudit } from "../../src/store/audit_verify.ts";
import { type AuditRow, auditRowHash } from "../../src/store/audit_chain.ts";
import type { Store } from "../../src/store/db.ts";
import type { AuditProblem, VerifyReport } from "../../src/store/audit_schema.ts";
import { steppingClock, tempStore } from "./_helpers.ts";

const COLS = "seq, at, kind, task_id, actor, decision, rule, reason, data, prev_hash, hash";

/** A store with `n` varied records and an attacker connection to the same file. */
function logWith(n = 10): { store: Store; attacker: DatabaseSync; path: string; head: string } {
  const store = tempStore({ now: steppingClock() });
  let head = "";
  for (let i = 1; i <= n; i++) {
    head = appendAudit(store, {
      kind: ["task.decision", "task.start", "task.finish"][i % 3],
      task_id: `task_${String(i).padStart(10, "0")}`,
      actor: { node: "laptop", stable_id: "nLAPTOP", login: "ann@example.com", tags: [] },
      decision: i % 3 === 0 ? "allow" : null,
      rule: i % 3 === 0 ? "inbound.allow[0]" : null,
      reason: i % 3 === 0 ? "profile query allowed" : null,
      data: { i, profile: "query" },
    }).hash;
  }
  const attacker = new DatabaseSync(store.path);
  attacker.exec("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;");
  return { store, attacker, path: store.path, head };
}

function row(db: DatabaseSync, seq: number): AuditRow {
  return {
    ...db.prepare(`SELECT ${COLS} FROM audit WHERE seq = ?`).get(seq),
  } as unknown as AuditRow;
}

function insertRow(db: DatabaseSync, r: AuditRow): void {
  db.prepare(`INSERT INTO audit (${COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
    r.seq,
    r.at,
    r.kind,
    r.task_id,
    r.actor,
    r.decision,
    r.rule,
    r.reason,
    r.data,
    r.prev_hash,
    r.hash,
  );
}

/** Moves every record with seq >= from by `by` (two steps, so the primary key never clashes). */
function renumber(db: DatabaseSync, from: number, by: number): void {
  db.exec(`UPDATE audit SET seq = -seq WHERE seq >= ${from}`);
  db.exec(`UPDATE audit SET seq = -seq + (${by}) WHERE seq < 0`);
}

function swap(db: DatabaseSync, a: number, b: number): void {
  db.exec(`UPDATE audit SET seq = -1 WHERE seq = ${a}`);
  db.exec(`UPDATE audit SET seq = ${a} WHERE seq = ${b}`);
  db.exec(`UPDATE audit SET seq = ${b} WHERE seq = -1`);
}

/** Recomputes the hash of `seq` as an attacker with a SHA-256 tool could. */
function rehash(db: DatabaseSync, seq: number): string {
  const hash = auditRowHash(row(db, seq));
  db.prepare("UPDATE audit SET hash = ? WHERE seq = ?").run(hash, seq);
  return hash;
}

/** A forged record that links to `prev` and carries a correct hash for `seq`. */
function forged(seq: number, prev: string): AuditRow {
  const r: AuditRow = {
    seq,
    at: "2026-01-01T00:00:04.500Z",
    kind: "task.decision",
    task_id: "task_forged0001",
    actor: '{"node":"laptop"}',
    decision: "allow",
    rule: "inbound.allow[9]",
    reason: "looks legitimate",
    data: null,
    prev_hash: prev,
    hash: "",
  };
  r.hash = auditRowHash(r);
  return r;
}

function expectBroken(
  report: VerifyReport,
  seq: number,
  problem: AuditProblem,
  detail?: RegExp,
): void {
  assert.equal(report.ok, false, "tampering must be detected");
  assert.equal(report.first_bad?.problem, problem, JSON.stringify(report.first_bad));
  assert.equal(report.first_bad?.seq, seq, JSON.stringify(report.first_bad));
  if (detail) assert.match(report.first_bad!.detail, detail);
}

function tamper(
  name: string,
  attack: (db: DatabaseSync) => void,
  check: (report: VerifyReport, count: number) => void,
): void {
  Deno.test(`tamper: ${name}`, () => {
    const { store, attacker } = logWith(10);
    try {
      assert.equal(verifyAudit(store).ok, true, "clean before the attack");
      attack(attacker);
      const count = Number(
        (attacker.prepare("SELECT count(*) AS n FROM audit").get() as { n: number }).n,
      );
      const report = verifyAudit(store);
      assert.equal(report.count, count);
      check(report, count);
    } finally {
      attacker.close();
      store.close();
    }
  });
}

// --- edited ---------------------------------------------------------------------------------
tamper("UPDATE a text field → edited at that seq", (db) => {
  db.exec("UPDATE audit SET reason = 'nothing to see' WHERE seq = 6");
}, (r) => expectBroken(r, 6, "edited", /seq 6 no longer matches its hash/));

tamper("UPDATE the decision → edited", (db) => {
  db.exec("UPDATE audit SET decision = 'deny' WHERE seq = 3");
}, (r) => expectBroken(r, 3, "edited"));

tamper("UPDATE data to an equivalent but non-canonical JSON spelling → edited", (db) => {
  db.exec(`UPDATE audit SET data = '{"profile": "query", "i": 5}' WHERE seq = 5`);
}, (r) => expectBroken(r, 5, "edited"));

tamper("UPDATE actor to invalid JSON → edited", (db) => {
  db.exec(`UPDATE audit SET actor = '{"node":"laptop"' WHERE seq = 4`);
}, (r) => expectBroken(r, 4, "edited"));

tamper("UPDATE a column to a BLOB → edited", (db) => {
  db.exec("UPDATE audit SET kind = CAST(kind AS BLOB) WHERE seq = 4");
}, (r) => expectBroken(r, 4, "edited"));

tamper("hide text after a NUL byte (invisible to JavaScript) → edited", (db) => {
  db.exec("UPDATE audit SET reason = reason || char(0) || 'hidden' WHERE seq = 6");
}, (r) => expectBroken(r, 6, "edited"));

tamper("UPDATE only the hash column → edited", (db) => {
  db.exec(`UPDATE audit SET hash = '${"a".repeat(64)}' WHERE seq = 7`);
}, (r) => expectBroken(r, 7, "edited"));

tamper("UPDATE a field and recompute that record's hash → edited at that seq", (db) => {
  db.exec("UPDATE audit SET decision = 'allow' WHERE seq = 5");
  rehash(db, 5);
}, (r) => expectBroken(r, 5, "edited", /seq 5 was rewritten and its hash recomputed/));

tamper("UPDATE the first record and recompute its hash → edited at 1", (db) => {
  db.exec("UPDATE audit SET kind = 'x' WHERE seq = 1");
  rehash(db, 1);
}, (r) => expectBroken(r, 1, "edited"));

tamper("change a record's seq (renumber one row into a gap at the end) → edited", (db) => {
  db.exec("UPDATE audit SET seq = 50 WHERE seq = 10");
}, (r) => expectBroken(r, 50, "edited", /was renumbered \(it was seq 10\)/));

tamper("move a record to a seq JavaScript cannot hold (beyond 2^53) → reordered", (db) => {
  db.exec("UPDATE audit SET seq = 9007199254740993 WHERE seq = 8");
}, (r) => expectBroken(r, 8, "reordered", /seq 9 links to seq 9007199254740992/));

tamper("an unreadable last record (seq beyond 2^53) → reported, not a crash", (db) => {
  db.exec("UPDATE audit SET seq = 9007199254740993 WHERE seq = 10");
}, (r) => expectBroken(r, 10, "edited", /stored seq 9007199254740993\) cannot be read/));

// --- deleted --------------------------------------------------------------------------------
tamper("DELETE one record → deleted at that seq", (db) => {
  db.exec("DELETE FROM audit WHERE seq = 5");
}, (r, n) => {
  assert.equal(n, 9);
  expectBroken(r, 5, "deleted", /seq 5 is missing/);
});

tamper("DELETE the first record → deleted at 1", (db) => {
  db.exec("DELETE FROM audit WHERE seq = 1");
}, (r) => expectBroken(r, 1, "deleted"));

tamper("DELETE a range → deleted at its start", (db) => {
  db.exec("DELETE FROM audit WHERE seq BETWEEN 4 AND 6");
}, (r) => expectBroken(r, 4, "deleted", /seq 4\.\.6 are missing/));

tamper("DELETE one record and renumber the rest to close the gap → deleted", (db) => {
  db.exec("DELETE FROM audit WHERE seq = 5");
  renumber(db, 6, -1);
}, (r) => expectBroken(r, 5, "deleted", /seq 5 is missing: seq 5 was originally seq 6/));

tamper("DELETE three records and renumber → deleted at the first", (db) => {
  db.exec("DELETE FROM audit WHERE seq BETWEEN 5 AND 7");
  renumber(db, 8, -3);
}, (r) => expectBroken(r, 5, "deleted", /seq 5\.\.7 are missing/));

tamper("DELETE the first record and renumber → deleted at 1", (db) => {
  db.exec("DELETE FROM audit WHERE seq = 1");
  renumber(db, 2, -1);
}, (r) => expectBroken(r, 1, "deleted"));

tamper("DELETE a record and relink the next one to its predecessor → deleted", (db) => {
  const before = row(db, 4).hash;
  db.exec("DELETE FROM audit WHERE seq = 5");
  db.prepare("UPDATE audit SET prev_hash = ? WHERE seq = 6").run(before);
  rehash(db, 6);
}, (r) => expectBroken(r, 5, "deleted"));

// --- reordered ------------------------------------------------------------------------------
tamper("swap the seq of two neighbours → reordered at the first", (db) => {
  swap(db, 5, 6);
}, (r) => expectBroken(r, 5, "reordered", /seq 5 links to seq 6, which comes after it/));

tamper("swap two distant records → reordered at the earlier position", (db) => {
  swap(db, 3, 8);
}, (r) => expectBroken(r, 3, "reordered"));

tamper("rotate three records → reordered", (db) => {
  db.exec("UPDATE audit SET seq = -4 WHERE seq = 4");
  db.exec("UPDATE audit SET seq = 4 WHERE seq = 5");
  db.exec("UPDATE audit SET seq = 5 WHERE seq = 6");
  db.exec("UPDATE audit SET seq = 6 WHERE seq = -4");
}, (r) => expectBroken(r, 4, "reordered"));

// --- inserted -------------------------------------------------------------------------------
tamper("INSERT a forged record with a correct hash, renumbering later ones → inserted", (db) => {
  const prev = row(db, 4).hash;
  renumber(db, 5, 1);
  insertRow(db, forged(5, prev));
}, (r, n) => {
  assert.equal(n, 11);
  expectBroken(r, 5, "inserted", /seq 6 was originally seq 5: seq 5 was inserted before it/);
});

tamper("INSERT two forged records, renumbering → inserted at the first", (db) => {
  const prev = row(db, 4).hash;
  renumber(db, 5, 2);
  const a = forged(5, prev);
  insertRow(db, a);
  insertRow(db, forged(6, a.hash));
}, (r) => expectBroken(r, 5, "inserted", /seq 5\.\.6 were inserted/));

tamper("INSERT a forged record and rehash every later record at its new seq → inserted", (db) => {
  const prev = row(db, 4).hash;
  renumber(db, 5, 1);
  insertRow(db, forged(5, prev));
  for (let s = 6; s <= 11; s++) rehash(db, s);
}, (r) => expectBroken(r, 5, "inserted", /seq 6 links to seq 4, skipping seq 5/));

tamper("INSERT a forged record with a wrong hash, renumbering → inserted", (db) => {
  renumber(db, 5, 1);
  insertRow(db, { ...forged(5, "f".repeat(64)), hash: "e".repeat(64) });
}, (r) => expectBroken(r, 5, "inserted", /links past it/));

tamper("INSERT a record at a free seq before 1 → inserted at that seq", (db) => {
  insertRow(db, forged(0, "0".repeat(64)));
}, (r) => expectBroken(r, 0, "inserted"));

// --- what a chain alone cannot show (documented limits) ---------------------------------------
Deno.test("limit: removing records from the end is only visible against a saved head_hash", () => {
  const { store, attacker, head } = logWith(10);
  try {
    assert.equal(verifyAudit(store).head_hash, head);
    attacker.exec("DELETE FROM audit WHERE seq >= 9");
    const report = verifyAudit(store);
    assert.equal(report.ok, true);
    assert.equal(report.count, 8);
    assert.notEqual(report.head_hash, head, "the anchor shows it");
  } finally {
    attacker.close();
    store.close();
  }
});

Deno.test("limit: a well-formed forged record appended at the end verifies", () => {
  const { store, attacker, head } = logWith(10);
  try {
    insertRow(attacker, forged(11, head));
    const report = verifyAudit(store);
    assert.equal(report.ok, true);
    assert.equal(report.count, 11);
    assert.notEqual(report.head_hash, head);
  } finally {
    attacker.close();
    store.close();
  }
});

// --- the real sqlite3 CLI ------------------------------------------------------------------
const SQLITE3 = "/usr/bin/sqlite3";
const hasSqlite3 = (() => {
  try {
    return Deno.statSync(SQLITE3).isFile;
  } catch {
    return false;
  }
})();

function sqlite3(path: string, sql: string): void {
  const out = new Deno.Command(SQLITE3, { args: [path, sql], stdout: "piped", stderr: "piped" })
    .outputSync();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `sqlite3 failed: ${stderr}`);
}

Deno.test({
  name: "sqlite3 CLI: the triggers stop a naive UPDATE; dropping them, an edit is found",
  ignore: !hasSqlite3,
  fn() {
    const { store, attacker, path } = logWith(10);
    attacker.close();
    try {
      // A fresh store (triggers intact) for the first part.
      const fresh = tempStore();
      appendAudit(fresh, { kind: "k" });
      const refused = new Deno.Command(SQLITE3, {
        args: [fresh.path, "UPDATE audit SET kind = 'x'"],
        stderr: "piped",
      }).outputSync();
      assert.notEqual(refused.code, 0);
      assert.match(new TextDecoder().decode(refused.stderr), /append-only/);
      fresh.close();

      // The daemon keeps its connection open while someone edits the file with the CLI.
      sqlite3(path, "UPDATE audit SET decision = 'allow', reason = 'ok' WHERE seq = 3;");
      expectBroken(verifyAudit(store), 3, "edited");
    } finally {
      store.close();
    }
  },
});

Deno.test({
  name: "sqlite3 CLI: a delete-and-renumber and a swap are found at the right seq",
  ignore: !hasSqlite3,
  fn() {
    const { store, attacker, path } = logWith(10);
    attacker.close();
    try {
      sqlite3(
        path,
        "DELETE FROM audit WHERE seq = 7; UPDATE audit SET seq = -seq WHERE seq > 7; " +
          "UPDATE audit SET seq = -seq - 1 WHERE seq < 0;",
      );
      expectBroken(verifyAudit(store), 7, "deleted");
      sqlite3(
        path,
        "UPDATE audit SET seq = -1 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; " +
          "UPDATE audit SET seq = 3 WHERE seq = -1;",
      );
      expectBroken(verifyAudit(store), 2, "reordered");
    } finally {
      store.close();
    }
  },
});
