/**
 * @module
 * Versioned schema migrations, tracked with `PRAGMA user_version`.
 *
 * `MIGRATIONS[i]` takes a database from version `i` to version `i + 1` (so its `version` is
 * `i + 1`). A fresh file has `user_version = 0`. Migrations only ever get appended: never edit
 * one that has shipped, add a new one instead. All pending migrations run in one
 * `BEGIN IMMEDIATE` transaction, and the version is read again after the lock is taken, so two
 * processes opening the same file at once migrate it exactly once.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { LATEST_SCHEMA_VERSION, migrate } from "./migrations.ts";
 * const db = new DatabaseSync(":memory:");
 * migrate(db, ":memory:"); // → LATEST_SCHEMA_VERSION
 * ```
 */
import type { DatabaseSync } from "node:sqlite";
import { busyError, corruptError, isBusy, StoreError, tooNewError } from "./errors.ts";

/** One schema step. */
export interface Migration {
  /** The `user_version` after this step (index in `MIGRATIONS` + 1). */
  version: number;
  /** What the step is for. */
  name: string;
  /** The DDL, run with `exec` inside the migration transaction. */
  sql: string;
}

const STATES = "'queued','running','succeeded','failed','cancelled','timed_out','interrupted'," +
  "'denied'";

/** Every migration, in order. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "base tables: tasks, task_events, task_results, audit",
    sql: `
      CREATE TABLE tasks (
        direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
        id TEXT NOT NULL,
        peer TEXT NOT NULL,
        requester TEXT,
        requester_key TEXT,
        state TEXT NOT NULL CHECK (state IN (${STATES})),
        profile TEXT NOT NULL,
        runner TEXT NOT NULL,
        cwd TEXT NOT NULL,
        prompt TEXT NOT NULL,
        timeout_s INTEGER,
        request_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        error TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (direction, id)
      );
      CREATE TABLE task_events (
        direction TEXT NOT NULL,
        task_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        data TEXT,
        PRIMARY KEY (direction, task_id, seq),
        FOREIGN KEY (direction, task_id) REFERENCES tasks (direction, id) ON DELETE CASCADE
      ) WITHOUT ROWID;
      CREATE TABLE task_results (
        direction TEXT NOT NULL,
        task_id TEXT NOT NULL,
        result TEXT NOT NULL,
        saved_at TEXT NOT NULL,
        PRIMARY KEY (direction, task_id),
        FOREIGN KEY (direction, task_id) REFERENCES tasks (direction, id) ON DELETE CASCADE
      ) WITHOUT ROWID;
      CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        task_id TEXT,
        actor TEXT,
        decision TEXT CHECK (decision IN ('allow', 'deny')),
        rule TEXT,
        reason TEXT,
        data TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: "crash recovery (run_token, pgid) and outbound follow-up (remote_state)",
    sql: `
      ALTER TABLE tasks ADD COLUMN run_token TEXT;
      ALTER TABLE tasks ADD COLUMN pgid INTEGER;
      ALTER TABLE tasks ADD COLUMN remote_state TEXT;
      CREATE INDEX tasks_by_state ON tasks (direction, state);
    `,
  },
  {
    version: 3,
    name: "indexes for scoped listing; audit table refuses UPDATE and DELETE",
    // The triggers stop cmesh's own code (or a stray SQL statement) from rewriting history.
    // They do not stop someone with the sqlite3 CLI, who can drop them: the hash chain is
    // what detects that.
    sql: `
      CREATE INDEX tasks_by_requester ON tasks (direction, requester_key, state);
      CREATE INDEX tasks_by_created ON tasks (direction, created_at);
      CREATE INDEX audit_by_task ON audit (task_id) WHERE task_id IS NOT NULL;
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    `,
  },
  {
    version: 4,
    name: "the cwd as requested, so a queued task is re-resolved from it at dequeue",
    // `cwd` keeps the realpath admission decided on; re-resolving the requested spelling at
    // dequeue shows a symlink swapped in meanwhile. NULL (older rows): `cwd` is used.
    sql: `
      ALTER TABLE tasks ADD COLUMN cwd_requested TEXT;
    `,
  },
  {
    version: 5,
    name: "outbound peer pins (StableID per configured peer name)",
    sql: `
      CREATE TABLE peer_pins (
        name TEXT PRIMARY KEY,
        stable_id TEXT NOT NULL,
        dns_name TEXT,
        source TEXT NOT NULL CHECK (source IN ('first_contact', 'user')),
        pinned_at TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 6,
    name: "one name for the caller's StableID: tasks.requester_key is requester_stable_id",
    // SQLite has no ALTER INDEX: the index is made again under the column's name. Audit records
    // are not touched (the chain hashes them as written).
    sql: `
      ALTER TABLE tasks RENAME COLUMN requester_key TO requester_stable_id;
      DROP INDEX tasks_by_requester;
      CREATE INDEX tasks_by_requester_stable_id ON tasks (direction, requester_stable_id, state);
    `,
  },
];

/** The schema version this build creates and understands. */
export const LATEST_SCHEMA_VERSION: number = MIGRATIONS.length;

MIGRATIONS.forEach((m, i) => {
  if (m.version !== i + 1) throw new Error(`MIGRATIONS[${i}] must have version ${i + 1}`);
});

/** Reads `PRAGMA user_version`. */
export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number } | undefined;
  return row?.user_version ?? 0;
}

/**
 * Brings `db` up to `target` (default: the latest version). Safe to call from several
 * processes at once: the version is re-read after `BEGIN IMMEDIATE` takes the write lock.
 *
 * @param db An open connection (with a busy timeout, so the lock wait works).
 * @param path The file name, for error messages.
 * @param target The version to stop at; tests use a lower one to build old databases.
 * @param busyTimeoutMs Only used in the "locked" error message.
 * @returns The schema version after the call.
 * @throws {StoreError} `too_new`, `corrupt` (an SQLite file made by another program),
 * `busy`, or `migration_failed` (rolled back; the file is as it was).
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * const db = new DatabaseSync(":memory:");
 * migrate(db, ":memory:", 1); // build a version-1 database in a test
 * ```
 */
export function migrate(
  db: DatabaseSync,
  path: string,
  target: number = LATEST_SCHEMA_VERSION,
  busyTimeoutMs = 0,
): number {
  if (target < 0 || target > LATEST_SCHEMA_VERSION) {
    throw new RangeError(`migration target ${target} is outside 0..${LATEST_SCHEMA_VERSION}`);
  }
  let version = schemaVersion(db);
  if (version > LATEST_SCHEMA_VERSION) throw tooNewError(path, version, LATEST_SCHEMA_VERSION);
  if (version >= target) return version;
  try {
    db.exec("BEGIN IMMEDIATE");
  } catch (e) {
    if (isBusy(e)) throw busyError(path, busyTimeoutMs, e);
    throw e;
  }
  try {
    version = schemaVersion(db); // another process may have migrated while we waited
    if (version > LATEST_SCHEMA_VERSION) throw tooNewError(path, version, LATEST_SCHEMA_VERSION);
    if (version === 0 && hasTables(db)) {
      throw corruptError(path, "it has tables but no cmesh schema version");
    }
    for (const m of MIGRATIONS.slice(version, target)) {
      try {
        db.exec(m.sql);
      } catch (e) {
        throw new StoreError(
          "migration_failed",
          path,
          `${path}: migration to schema ${m.version} (${m.name}) failed: ` +
            `${(e as Error).message}; the database was left at schema ${version}`,
          { cause: e },
        );
      }
      db.exec(`PRAGMA user_version = ${m.version}`);
    }
    db.exec("COMMIT");
    return Math.max(version, target);
  } catch (e) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw e;
  }
}

function hasTables(db: DatabaseSync): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' LIMIT 1")
    .get() !== undefined;
}
