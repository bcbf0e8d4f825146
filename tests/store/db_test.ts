import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { openStore } from "../../src/store/db.ts";
import { StoreError } from "../../src/store/errors.ts";
import { LATEST_SCHEMA_VERSION } from "../../src/store/migrations.ts";
import { tempDbPath, tempStore } from "./_helpers.ts";

function pragma(db: DatabaseSync, name: string): unknown {
  const row = db.prepare(`PRAGMA ${name}`).get() as Record<string, unknown>;
  return Object.values(row)[0];
}

function count(db: DatabaseSync, table = "audit"): number {
  return Number((db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
}

function insertMarker(db: DatabaseSync, seq: number): void {
  db.prepare(
    "INSERT INTO audit (seq, at, kind, prev_hash, hash) VALUES (?, 'x', 'test', 'p', 'h')",
  ).run(seq);
}

Deno.test("openStore creates the parent directory with mode 0700", () => {
  const tmp = tempDbPath();
  try {
    const path = join(tmp.dir, "state", "nested", "cmesh.db");
    const store = openStore(path);
    store.close();
    assert.ok(Deno.statSync(path).isFile);
    if (Deno.build.os !== "windows") {
      assert.equal(Deno.statSync(join(tmp.dir, "state", "nested")).mode! & 0o777, 0o700);
    }
  } finally {
    tmp.cleanup();
  }
});

Deno.test("openStore sets WAL, foreign keys, synchronous=NORMAL, busy timeout, schema", () => {
  using store = tempStore({ busyTimeoutMs: 1234 });
  assert.equal(pragma(store.db, "journal_mode"), "wal");
  assert.equal(pragma(store.db, "foreign_keys"), 1);
  assert.equal(pragma(store.db, "synchronous"), 1); // NORMAL
  assert.equal(pragma(store.db, "busy_timeout"), 1234);
  assert.equal(pragma(store.db, "user_version"), LATEST_SCHEMA_VERSION);
  assert.equal(store.schemaVersion, LATEST_SCHEMA_VERSION);
});

Deno.test("openStore on an existing file keeps its data (reopen)", () => {
  const tmp = tempDbPath();
  try {
    const a = openStore(tmp.path);
    a.db.exec("DROP TRIGGER audit_no_update");
    insertMarker(a.db, 1);
    a.close();
    const b = openStore(tmp.path);
    assert.equal(count(b.db), 1);
    b.close();
  } finally {
    tmp.cleanup();
  }
});

Deno.test("transaction commits on return and rolls back on throw", () => {
  using store = tempStore();
  const value = store.transaction(() => {
    insertMarker(store.db, 1);
    return 42;
  });
  assert.equal(value, 42);
  assert.throws(
    () =>
      store.transaction(() => {
        insertMarker(store.db, 2);
        throw new Error("boom");
      }),
    /boom/,
  );
  assert.equal(count(store.db), 1);
  assert.equal(store.inTransaction, false);
  assert.equal(store.db.isTransaction, false);
});

Deno.test("nested transaction: an inner failure caught by the outer undoes only the inner", () => {
  using store = tempStore();
  store.transaction(() => {
    insertMarker(store.db, 1);
    assert.equal(store.inTransaction, true);
    assert.throws(() =>
      store.transaction(() => {
        insertMarker(store.db, 2);
        store.transaction(() => insertMarker(store.db, 3));
        throw new Error("inner");
      })
    );
    store.transaction(() => insertMarker(store.db, 4));
  });
  const seqs = store.db.prepare("SELECT seq FROM audit ORDER BY seq").all().map((r) => r.seq);
  assert.deepEqual(seqs, [1, 4]);
});

Deno.test("nested transaction: an outer failure undoes the committed inner work too", () => {
  using store = tempStore();
  assert.throws(() =>
    store.transaction(() => {
      store.transaction(() => insertMarker(store.db, 1));
      throw new Error("outer");
    })
  );
  assert.equal(count(store.db), 0);
});

Deno.test("transaction refuses an async function and rolls back", () => {
  using store = tempStore();
  assert.throws(
    () =>
      store.transaction(async () => {
        insertMarker(store.db, 1);
        await Promise.resolve();
      }),
    /must be synchronous/,
  );
  assert.equal(count(store.db), 0);
  assert.equal(store.db.isTransaction, false);
});

Deno.test("two handles on one file: a writer waits for the lock, then fails with a clear error", () => {
  const tmp = tempDbPath();
  try {
    const a = openStore(tmp.path);
    const b = openStore(tmp.path, { busyTimeoutMs: 100 });
    const started = performance.now();
    a.transaction(() => {
      insertMarker(a.db, 1);
      // b can still read the last committed state while a holds the write lock...
      assert.equal(count(b.db), 0);
      // ...but a write waits for the busy timeout and then fails.
      assert.throws(() => b.transaction(() => insertMarker(b.db, 2)), StoreError);
    });
    assert.ok(performance.now() - started >= 90, "b waited for its busy timeout");
    try {
      b.transaction(() => insertMarker(b.db, 2));
    } catch (e) {
      assert.fail(`b should write once a has committed: ${e}`);
    }
    assert.equal(count(a.db), 2);
    a.close();
    b.close();
  } finally {
    tmp.cleanup();
  }
});

Deno.test("the busy error names the file and the wait", () => {
  const tmp = tempDbPath();
  try {
    const a = openStore(tmp.path);
    const b = openStore(tmp.path, { busyTimeoutMs: 50 });
    a.transaction(() => {
      try {
        b.transaction(() => insertMarker(b.db, 1));
        assert.fail("expected a busy error");
      } catch (e) {
        assert.ok(e instanceof StoreError);
        assert.equal(e.code, "busy");
        assert.match(
          e.message,
          new RegExp(`${tmp.path} is locked by another process \\(waited 50 ms\\)`),
        );
      }
    });
    a.close();
    b.close();
  } finally {
    tmp.cleanup();
  }
});

Deno.test("a file of random bytes: StoreError 'corrupt', names the path, file untouched", () => {
  const tmp = tempDbPath();
  try {
    const bytes = crypto.getRandomValues(new Uint8Array(8192));
    Deno.writeFileSync(tmp.path, bytes);
    try {
      openStore(tmp.path);
      assert.fail("expected StoreError");
    } catch (e) {
      assert.ok(e instanceof StoreError, String(e));
      assert.equal(e.code, "corrupt");
      assert.equal(
        e.message,
        `${tmp.path} is not a cmesh database or is corrupt (file is not a database): ` +
          "move it aside and restart; nothing was changed",
      );
    }
    assert.deepEqual(Deno.readFileSync(tmp.path), bytes);
    assert.deepEqual([...Deno.readDirSync(tmp.dir)].map((e) => e.name), ["cmesh.db"]);
  } finally {
    tmp.cleanup();
  }
});

Deno.test("another program's SQLite file: StoreError 'corrupt', not adopted", () => {
  const tmp = tempDbPath();
  try {
    const other = new DatabaseSync(tmp.path);
    other.exec("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)");
    other.close();
    assert.throws(() => openStore(tmp.path), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.equal(e.code, "corrupt");
      assert.match(e.message, /has tables but no cmesh schema version.*nothing was changed/);
      return true;
    });
    const check = new DatabaseSync(tmp.path);
    assert.equal(pragma(check, "user_version"), 0);
    assert.deepEqual(
      check.prepare("SELECT name FROM sqlite_schema").all().map((r) => r.name),
      ["photos"],
    );
    check.close();
  } finally {
    tmp.cleanup();
  }
});

Deno.test("a database from a newer cmesh: StoreError 'too_new' with both versions", () => {
  const tmp = tempDbPath();
  try {
    openStore(tmp.path).close();
    const newer = LATEST_SCHEMA_VERSION + 4;
    const raw = new DatabaseSync(tmp.path);
    raw.exec(`PRAGMA user_version = ${newer}`);
    raw.close();
    try {
      openStore(tmp.path);
      assert.fail("expected StoreError");
    } catch (e) {
      assert.ok(e instanceof StoreError);
      assert.equal(e.code, "too_new");
      assert.equal(
        e.message,
        `${tmp.path} was written by a newer cmesh (schema ${newer}, this build knows ` +
          `${LATEST_SCHEMA_VERSION}): upgrade cmesh; nothing was changed`,
      );
    }
    const check = new DatabaseSync(tmp.path);
    assert.equal(pragma(check, "user_version"), newer);
    check.close();
  } finally {
    tmp.cleanup();
  }
});

Deno.test("an empty file is a fresh database", () => {
  const tmp = tempDbPath();
  try {
    Deno.writeFileSync(tmp.path, new Uint8Array());
    const store = openStore(tmp.path);
    assert.equal(store.schemaVersion, LATEST_SCHEMA_VERSION);
    store.close();
  } finally {
    tmp.cleanup();
  }
});

Deno.test("openStore on an unusable path: StoreError 'open_failed'", () => {
  const tmp = tempDbPath();
  try {
    Deno.writeTextFileSync(join(tmp.dir, "file"), "x");
    assert.throws(
      () => openStore(join(tmp.dir, "file", "cmesh.db")),
      (e: unknown) => e instanceof StoreError && e.code === "open_failed",
    );
  } finally {
    tmp.cleanup();
  }
});

Deno.test("close is idempotent and `using` closes", () => {
  const tmp = tempDbPath();
  try {
    {
      using store = openStore(tmp.path);
      store.close();
    }
    const again = openStore(tmp.path);
    again.close();
  } finally {
    tmp.cleanup();
  }
});
