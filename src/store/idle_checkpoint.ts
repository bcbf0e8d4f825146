/**
 * @module
 * Moves SQLite's WAL checkpoints off the request path. In WAL mode with `synchronous = NORMAL`,
 * a commit is not synced; the checkpoint that copies the WAL into the database (syncing both,
 * a few ms) runs inside whichever commit pushes the WAL past 1,000 pages, so now and then a
 * task's write stalls, and at light load a commit can wait hours for its sync. An
 * {@link IdleCheckpointer} looks every 100 ms while its connection writes and checkpoints once a
 * look finds no new write: between tasks, not during them, and a commit is synced within about
 * two looks of the writes stopping. The store tells it when a write is coming
 * ({@link IdleCheckpointer.wrote}), so an idle connection is not looked at every tick: only once
 * every 30 s, in case something wrote around the store (each wake-up of an idle daemon costs CPU:
 * a look every 2 s cost each daemon about 0.7% of a core with a thousand tasks queued).
 * SQLite's own checkpoint at 1,000 pages stays as the bound under sustained load.
 *
 * After a checkpoint that copied the whole WAL, the next commit starts the WAL over and syncs its
 * new header first (SQLite does so for every restart, whatever `synchronous` says): one `fsync`,
 * about 0.4 ms here, inside the next task's first commit. The look makes that restart itself,
 * with a write that changes nothing (the database header's `application_id`, set to what it is),
 * so the sync happens between tasks too and the next commit only appends.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { IdleCheckpointer } from "./idle_checkpoint.ts";
 * const db = new DatabaseSync("/var/lib/cmesh/cmesh.db");
 * const checkpoints = new IdleCheckpointer(db);
 * checkpoints.wrote();
 * db.prepare("INSERT INTO t VALUES (?)").run("x");
 * // ... about 200 ms later the write is in the database file, synced ...
 * checkpoints.stop();
 * db.close();
 * ```
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

/** How often a connection looks whether it wrote since the last look, while it writes (ms). */
export const IDLE_CHECKPOINT_TICK_MS = 100;
/** How often an idle connection looks anyway, for a write the store was not told of (ms). */
export const IDLE_CHECKPOINT_IDLE_LOOK_MS = 30_000;

/** Checkpoints one connection's writes once they pause for a tick (see the module doc). */
export class IdleCheckpointer {
  readonly #db: DatabaseSync;
  readonly #changes: StatementSync;
  readonly #applicationId: StatementSync;
  readonly #busyTimeout: StatementSync;
  readonly #tickMs: number;
  readonly #idleLookMs: number;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** The delay the armed timer was set for. */
  #armedMs = 0;
  #stopped = false;
  #seen: number;
  #dirty = false;

  constructor(
    db: DatabaseSync,
    tickMs = IDLE_CHECKPOINT_TICK_MS,
    idleLookMs = IDLE_CHECKPOINT_IDLE_LOOK_MS,
  ) {
    this.#db = db;
    this.#changes = db.prepare("SELECT total_changes() AS n");
    this.#applicationId = db.prepare("PRAGMA application_id");
    this.#busyTimeout = db.prepare("PRAGMA busy_timeout");
    this.#tickMs = tickMs;
    this.#idleLookMs = Math.max(tickMs, idleLookMs);
    this.#seen = this.#count();
    // A first look soon: whatever opened the connection may have written.
    this.#arm(tickMs);
  }

  /** A write is coming on this connection: look within a tick (cheap when already looking). */
  wrote(): void {
    if (this.#stopped || (this.#timer !== null && this.#armedMs <= this.#tickMs)) return;
    this.#arm(this.#tickMs);
  }

  /** Stops looking (before the connection closes). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(ms: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#armedMs = ms;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#stopped) this.#arm(this.#tick());
    }, ms);
    // An idle daemon or a CLI command is not kept alive by it.
    Deno.unrefTimer(Number(this.#timer));
  }

  #count(): number {
    return Number((this.#changes.get() as { n: number | bigint }).n);
  }

  /** One look; returns when to look next. */
  #tick(): number {
    try {
      const n = this.#count();
      if (n !== this.#seen) {
        // Still writing: look again soon, and checkpoint once a look finds no new write.
        [this.#seen, this.#dirty] = [n, true];
        return this.#tickMs;
      }
      if (this.#dirty) {
        this.#dirty = false;
        // PASSIVE: copies what no reader still needs, never waits for a lock.
        this.#db.exec("PRAGMA wal_checkpoint(PASSIVE)");
        this.#restartWal();
      }
    } catch {
      // Busy or closing: SQLite's own checkpoint still bounds the WAL; the next write re-arms.
    }
    return this.#idleLookMs;
  }

  /**
   * Starts the WAL over now, with its header synced, when the checkpoint left nothing in it (see
   * the module doc). A pragma write is not a row change: the next look does not see it as one.
   * Like the checkpoint, it never waits for a lock: when another connection is writing, it is left
   * to the next commit, as before.
   */
  #restartWal(): void {
    const row = this.#applicationId.get() as { application_id: number } | undefined;
    const id = Number(row?.application_id ?? 0);
    if (!Number.isSafeInteger(id)) return;
    const busy = this.#busyTimeout.get() as { timeout: number } | undefined;
    this.#db.exec("PRAGMA busy_timeout = 0");
    try {
      this.#db.exec(`PRAGMA application_id = ${id}`);
    } finally {
      this.#db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(busy?.timeout ?? 0))}`);
    }
  }
}
