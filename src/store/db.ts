/**
 * @module
 * Opening the cmesh SQLite database (`node:sqlite`), with WAL, a busy timeout, foreign keys
 * and migrations, and a `transaction` helper that nests.
 *
 * Opening never resets anything: a file that is not a cmesh database, is damaged, or was
 * written by a newer cmesh raises a {@link StoreError} that names the file and what to do.
 *
 * @example
 * ```ts
 * import { openStore } from "./db.ts";
 * const store = openStore("/home/ann/.local/state/cmesh/cmesh.db");
 * store.transaction(() => {
 *   // several writes that must land together
 * });
 * store.close();
 * ```
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { busyError, corruptError, isBusy, isCorrupt, StoreError, tooNewError } from "./errors.ts";
import { IdleCheckpointer } from "./idle_checkpoint.ts";
// Not node:path: the worker thread opens its store at start, and node:path would load the Node
// compatibility layer's error and validation modules into its idle isolate (protocol/paths.ts).
import { parentDir } from "../protocol/paths.ts";
import { LATEST_SCHEMA_VERSION, migrate, schemaVersion } from "./migrations.ts";

/** Options for {@link openStore}. */
export interface StoreOptions {
  /** How long a write waits for another connection's lock, in ms. Default 5000. */
  busyTimeoutMs?: number;
  /** Events kept per task (first `n - 1` plus the latest). Default 2000, minimum 2. */
  maxEventsPerTask?: number;
  /** Clock for `created_at`, event and audit times. Default: `() => new Date()`. */
  now?: () => Date;
}

/** An open cmesh database. All methods are synchronous. */
export interface Store {
  /** The file name it was opened with. */
  readonly path: string;
  /** The underlying connection, for the store modules (and tests). */
  readonly db: DatabaseSync;
  /** The schema version after migrations ran. */
  readonly schemaVersion: number;
  /** Events kept per task; see {@link StoreOptions.maxEventsPerTask}. */
  readonly maxEventsPerTask: number;
  /** True while inside {@link Store.transaction}. */
  readonly inTransaction: boolean;
  /** The current time as an ISO-8601 UTC string (`2026-11-26T15:07:00.000Z`). */
  now(): string;
  /** A cached prepared statement for `sql` (prepared once per connection). */
  prepare(sql: string): StatementSync;
  /**
   * Runs `fn` in a write transaction (`BEGIN IMMEDIATE`): commits when it returns, rolls back
   * when it throws. A nested call becomes a savepoint, so an inner failure that the outer
   * function catches undoes only the inner writes. `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T;
  /** Closes the connection. Safe to call twice. */
  close(): void;
  /** Same as `close()`, for `using store = openStore(...)`. */
  [Symbol.dispose](): void;
}

/**
 * Opens (creating if needed) the database at `path` and brings its schema up to date.
 *
 * @param path Database file; its parent directory is created with mode 0700 if missing.
 * `":memory:"` gives a private in-memory database (tests).
 * @param opts Busy timeout, event cap, clock.
 * @returns An open {@link Store}.
 * @throws {StoreError} `corrupt` (not a database, damaged, or another program's SQLite file),
 * `too_new` (schema newer than this build), `busy`, `open_failed`, `migration_failed`. In
 * every case the file is left as it was.
 *
 * @example
 * ```ts
 * const store = openStore("/var/lib/cmesh/cmesh.db", { busyTimeoutMs: 5000 });
 * ```
 */
export function openStore(path: string, opts: StoreOptions = {}): Store {
  const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
  const maxEventsPerTask = Math.max(2, Math.floor(opts.maxEventsPerTask ?? 2000));
  const clock = opts.now ?? (() => new Date());
  if (path !== ":memory:") ensureParentDir(path);

  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { timeout: busyTimeoutMs });
  } catch (e) {
    throw openFailed(path, e);
  }
  let version: number;
  // While another process creates the file or switches it to WAL, SQLite can answer "database
  // is locked" without calling the busy handler: retry the whole preparation until the timeout.
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    try {
      version = prepareConnection(db, path, busyTimeoutMs);
      break;
    } catch (e) {
      if (isBusy(e) && !(e instanceof StoreError) && Date.now() < deadline) {
        sleepSync(10 + Math.floor(Math.random() * 40));
        continue;
      }
      db.close();
      if (e instanceof StoreError) throw e;
      if (isCorrupt(e)) throw corruptError(path, (e as Error).message, e);
      if (isBusy(e)) throw busyError(path, busyTimeoutMs, e);
      throw openFailed(path, e);
    }
  }
  // An in-memory database has no WAL to checkpoint.
  const checkpoints = path === ":memory:" ? null : new IdleCheckpointer(db);
  return new SqliteStore(path, db, version, maxEventsPerTask, clock, busyTimeoutMs, checkpoints);
}

/** Checks the version, sets the pragmas, migrates. Order matters: see the comments. */
function prepareConnection(db: DatabaseSync, path: string, busyTimeoutMs: number): number {
  // Reading the header first: a random-bytes file fails here, before anything is written.
  const found = schemaVersion(db);
  if (found > LATEST_SCHEMA_VERSION) throw tooNewError(path, found, LATEST_SCHEMA_VERSION);
  const mode = db.prepare("PRAGMA journal_mode = WAL").get() as { journal_mode: string };
  if (path !== ":memory:" && mode.journal_mode !== "wal") {
    throw new StoreError(
      "open_failed",
      path,
      `${path}: could not switch to WAL journal mode (got ${mode.journal_mode}); ` +
        `is the file on a network filesystem?`,
    );
  }
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA synchronous = NORMAL");
  // 512 KiB of page cache per connection (SQLite's default is 2 MiB; a daemon has two, one per
  // thread): the hot pages (indexes, the newest rows) fit, the kernel's page cache holds the rest,
  // and an idle daemon with a thousand tasks in flight stays under its memory goal.
  db.exec("PRAGMA cache_size = -512");
  return migrate(db, path, LATEST_SCHEMA_VERSION, busyTimeoutMs);
}

/** Blocks the thread for `ms` (the store API is synchronous by design). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function ensureParentDir(path: string): void {
  const dir = parentDir(path);
  try {
    Deno.statSync(dir);
    return;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw openFailed(path, e);
  }
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode is filtered by the umask; the state dir must be private regardless.
    if (Deno.build.os !== "windows") Deno.chmodSync(dir, 0o700);
  } catch (e) {
    throw openFailed(path, e);
  }
}

function openFailed(path: string, e: unknown): StoreError {
  return new StoreError(
    "open_failed",
    path,
    `cannot open database ${path}: ${(e as Error)?.message ?? String(e)}`,
    { cause: e },
  );
}

/** A plain query: it arms no checkpoint (anything else, a `WITH` too, may write). */
const READ_ONLY_SQL = /^\s*SELECT\b/i;

class SqliteStore implements Store {
  #depth = 0;
  /** Prepared statements by SQL, each with whether it may write (decided once, see below). */
  #statements = new Map<string, { stmt: StatementSync; writes: boolean }>();
  #closed = false;

  constructor(
    readonly path: string,
    readonly db: DatabaseSync,
    readonly schemaVersion: number,
    readonly maxEventsPerTask: number,
    private readonly clock: () => Date,
    private readonly busyTimeoutMs: number,
    private readonly checkpoints: IdleCheckpointer | null,
  ) {}

  get inTransaction(): boolean {
    return this.#depth > 0;
  }

  now(): string {
    return this.clock().toISOString();
  }

  prepare(sql: string): StatementSync {
    let prepared = this.#statements.get(sql);
    if (!prepared) {
      prepared = { stmt: this.db.prepare(sql), writes: !READ_ONLY_SQL.test(sql) };
      this.#statements.set(sql, prepared);
    }
    // Anything but a query is a write about to run: its checkpoint follows within a tick.
    if (prepared.writes) this.checkpoints?.wrote();
    return prepared.stmt;
  }

  transaction<T>(fn: () => T): T {
    const depth = this.#depth;
    const savepoint = `cmesh_sp_${depth}`;
    this.#begin(depth, savepoint);
    this.#depth++;
    let result: T;
    try {
      result = fn();
      if (result instanceof Promise) {
        // Catch the rejection we are about to abandon, so it is not reported as unhandled.
        result.catch(() => {});
        throw new TypeError("Store.transaction: fn must be synchronous (it returned a Promise)");
      }
    } catch (e) {
      this.#depth--;
      this.#rollback(depth, savepoint);
      throw e;
    }
    this.#depth--;
    // Writes made on `db` itself inside the transaction are looked at too.
    if (depth === 0) this.checkpoints?.wrote();
    try {
      this.db.exec(depth === 0 ? "COMMIT" : `RELEASE ${savepoint}`);
    } catch (e) {
      this.#rollback(depth, savepoint);
      if (isBusy(e)) throw busyError(this.path, this.busyTimeoutMs, e);
      throw e;
    }
    return result;
  }

  #begin(depth: number, savepoint: string): void {
    try {
      this.db.exec(depth === 0 ? "BEGIN IMMEDIATE" : `SAVEPOINT ${savepoint}`);
    } catch (e) {
      if (isBusy(e)) throw busyError(this.path, this.busyTimeoutMs, e);
      throw e;
    }
  }

  #rollback(depth: number, savepoint: string): void {
    // Some errors (SQLITE_FULL, SQLITE_IOERR...) make SQLite roll back the whole transaction
    // by itself; then there is nothing left to undo here.
    if (!this.db.isTransaction) return;
    if (depth === 0) {
      this.db.exec("ROLLBACK");
    } else {
      this.db.exec(`ROLLBACK TO ${savepoint}`);
      this.db.exec(`RELEASE ${savepoint}`);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.checkpoints?.stop();
    this.#statements.clear();
    this.db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
