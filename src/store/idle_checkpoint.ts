/**
 * @module
 * Moves SQLite's WAL checkpoints off the request path. In WAL mode with `synchronous = NORMAL`,
 * a commit is not synced; the checkpoint that copies the WAL into the database (syncing both,
 * a few ms) runs inside whichever commit pushes the WAL past 1,000 pages, so now and then a
 * task's write stalls, and at light load a commit can wait hours for its sync. An
 * {@link IdleCheckpointer} checkpoints a connection's writes once it has written nothing for a
 * tick: between tasks, not during them, and a commit is synced soon after the writes stop.
 * SQLite's own checkpoint at 1,000 pages stays as the bound under sustained load.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * import { IdleCheckpointer } from "./idle_checkpoint.ts";
 * const db = new DatabaseSync("/var/lib/cmesh/cmesh.db");
 * const checkpoints = new IdleCheckpointer(db);
 * // ... writes ...
 * checkpoints.stop();
 * db.close();
 * ```
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

/** How often a connection looks whether it wrote since the last look (ms). */
export const IDLE_CHECKPOINT_TICK_MS = 100;

/** Checkpoints one connection's writes once they pause for a tick (see the module doc). */
export class IdleCheckpointer {
  readonly #db: DatabaseSync;
  readonly #changes: StatementSync;
  readonly #timer: ReturnType<typeof setInterval>;
  #seen: number;
  #dirty = false;

  constructor(db: DatabaseSync, tickMs = IDLE_CHECKPOINT_TICK_MS) {
    this.#db = db;
    this.#changes = db.prepare("SELECT total_changes() AS n");
    this.#seen = this.#count();
    this.#timer = setInterval(() => this.#tick(), tickMs);
    // An idle daemon or a CLI command is not kept alive by it.
    Deno.unrefTimer(Number(this.#timer));
  }

  /** Stops looking (before the connection closes). */
  stop(): void {
    clearInterval(this.#timer);
  }

  #count(): number {
    return Number((this.#changes.get() as { n: number | bigint }).n);
  }

  #tick(): void {
    try {
      const n = this.#count();
      if (n !== this.#seen) {
        // Still writing: wait until a tick passes without a write.
        [this.#seen, this.#dirty] = [n, true];
        return;
      }
      if (!this.#dirty) return;
      this.#dirty = false;
      // PASSIVE: copies what no reader still needs, never waits for a lock.
      this.#db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    } catch {
      // Busy or closing: SQLite's own checkpoint still bounds the WAL; the next write re-arms.
    }
  }
}
