/** The WAL is checkpointed once a connection's writes pause, not inside a later commit. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { IdleCheckpointer } from "../../src/store/idle_checkpoint.ts";
import { openStore } from "../../src/store/db.ts";

/** Waits until `done()` holds, looking every 20 ms, for at most `ms` (a hang guard). */
async function until(done: () => boolean, ms = 20_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (done()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return done();
}

/**
 * A WAL database with an empty WAL, given to `fn` with the main file's size now and a write of
 * 200 KiB: far below SQLite's own checkpoint at 1,000 pages, so only a checkpoint moves it into
 * the main file.
 */
async function withWalDb(
  fn: (t: { db: DatabaseSync; size: () => number; before: number; write: () => void }) => unknown,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cmesh-ckpt-" });
  const file = join(dir, "t.db");
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("CREATE TABLE t (v TEXT)");
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const size = () => Deno.statSync(file).size;
    const write = () => db.prepare("INSERT INTO t VALUES (?)").run("x".repeat(200 * 1024));
    await fn({ db, size, before: size(), write });
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("IdleCheckpointer: a pause in the writes copies the WAL into the database file", async () => {
  await withWalDb(async ({ db, size, before, write }) => {
    const checkpoints = new IdleCheckpointer(db, 30);
    try {
      write();
      assert.equal(size(), before, "a commit alone leaves the database file as it was");
      assert.ok(await until(() => size() > before), "the pause checkpointed the write");
    } finally {
      checkpoints.stop();
    }
  });
});

Deno.test("IdleCheckpointer: a write it was not told of is still checkpointed by the idle look", async () => {
  await withWalDb(async ({ db, size, before, write }) => {
    const checkpoints = new IdleCheckpointer(db, 10, 80);
    try {
      await new Promise((r) => setTimeout(r, 400)); // idle: only the look every 80 ms is left
      write();
      assert.ok(await until(() => size() > before));
    } finally {
      checkpoints.stop();
    }
  });
});

Deno.test("IdleCheckpointer: a write it is told of is looked at within a tick, not at the idle look", async () => {
  await withWalDb(async ({ db, size, before, write }) => {
    const checkpoints = new IdleCheckpointer(db, 10, 600_000);
    try {
      await new Promise((r) => setTimeout(r, 100)); // the first look is done: idle
      write();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(size(), before, "untold, the write waits for the idle look (10 min)");
      checkpoints.wrote();
      write();
      assert.ok(await until(() => size() > before, 5_000), "told: checkpointed within ticks");
    } finally {
      checkpoints.stop();
    }
  });
});

Deno.test("IdleCheckpointer: without it the same write stays in the WAL (the test can fail)", async () => {
  await withWalDb(async ({ size, before, write }) => {
    write();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(size(), before);
  });
});

Deno.test("openStore: a file store checkpoints its writes once they pause", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cmesh-ckpt-" });
  const file = join(dir, "cmesh.db");
  try {
    const store = openStore(file);
    store.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const before = Deno.statSync(file).size;
    store.transaction(() => {
      store.db.exec("CREATE TABLE scratch (v TEXT)");
      store.db.prepare("INSERT INTO scratch VALUES (?)").run("y".repeat(200 * 1024));
    });
    assert.ok(await until(() => Deno.statSync(file).size > before));
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openStore: a write statement outside a transaction arms the look as well", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cmesh-ckpt-" });
  const file = join(dir, "cmesh.db");
  try {
    const store = openStore(file);
    store.transaction(() => store.db.exec("CREATE TABLE scratch (v TEXT)"));
    await new Promise((r) => setTimeout(r, 400)); // checkpointed, then idle (next look in 30 s)
    store.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    const before = Deno.statSync(file).size;
    store.prepare("INSERT INTO scratch VALUES (?)").run("z".repeat(200 * 1024));
    assert.ok(await until(() => Deno.statSync(file).size > before, 5_000));
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The WAL header's checkpoint sequence number and salts: they change when the WAL starts over. */
function walRestarts(file: string): string {
  return Array.from(Deno.readFileSync(`${file}-wal`).subarray(12, 24)).join(",");
}

Deno.test("IdleCheckpointer: the WAL starts over in the pause, so the next commit syncs no new header", async () => {
  await withWalDb(async ({ db, size, before, write }) => {
    const file = db.prepare("PRAGMA database_list").all()[0] as { file: string };
    const checkpoints = new IdleCheckpointer(db, 10, 600_000);
    try {
      write();
      const atWrite = walRestarts(file.file);
      assert.ok(await until(() => size() > before), "the pause checkpointed the write");
      assert.ok(await until(() => walRestarts(file.file) !== atWrite), "started over in the pause");
      const paused = walRestarts(file.file);
      write();
      assert.equal(walRestarts(file.file), paused, "the next commit appended to the WAL");
      assert.equal(db.prepare("PRAGMA application_id").get()?.application_id, 0, "unchanged");
    } finally {
      checkpoints.stop();
    }
  });
});

Deno.test("IdleCheckpointer: after a bare checkpoint the next commit starts the WAL over (the test can fail)", async () => {
  await withWalDb(({ db, write }) => {
    const file = (db.prepare("PRAGMA database_list").all()[0] as { file: string }).file;
    write();
    db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    const checkpointed = walRestarts(file);
    write();
    assert.notEqual(walRestarts(file), checkpointed);
  });
});

Deno.test("IdleCheckpointer: while another connection writes, the look leaves the restart to a later one and keeps its busy timeout", async () => {
  await withWalDb(async ({ db, size, before, write }) => {
    const file = (db.prepare("PRAGMA database_list").all()[0] as { file: string }).file;
    db.exec("PRAGMA busy_timeout = 600000"); // waiting for the lock would hang this test
    const other = new DatabaseSync(file);
    const checkpoints = new IdleCheckpointer(db, 10, 600_000);
    try {
      write();
      const atWrite = walRestarts(file);
      other.exec("BEGIN IMMEDIATE"); // holds the write lock
      assert.ok(await until(() => size() > before), "checkpointed meanwhile");
      await new Promise((r) => setTimeout(r, 100)); // looks that found the lock taken
      assert.equal(walRestarts(file), atWrite, "not started over while the other writes");
      assert.equal(db.prepare("PRAGMA busy_timeout").get()?.timeout, 600_000);
      other.exec("COMMIT");
      write();
      assert.ok(await until(() => walRestarts(file) !== atWrite), "started over in a later pause");
    } finally {
      checkpoints.stop();
      other.close();
    }
  });
});
