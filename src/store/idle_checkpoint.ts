/**
 * @module
 * Moves SQLite's WAL checkpoints off the request path. In WAL mode with `synchronous = NORMAL`,
 * a commit is not synced; the checkpoint that copies the WAL into the database (syncing both,
 * a few ms) runs inside whichever commit pushes the WAL past 1,000 pages, so now and then a
 * task's write stalls, and at light load a commit can wait hours for its sync. An
 * {@link IdleCheckpointer} looks every 100 ms while its connection writes (less and less often,
 * up to every 2 s, while it is idle) and checkpoints once a look finds no new write: between
 * tasks, not during them, and a commit is synced within about 2 s of the writes stopping.
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

/** How often a connection looks whether it wrote since the last look, while it writes (ms). */
export const IDLE_CHECKPOINT_TICK_MS = 100;
/** The longest wait between two looks once it has been idle for a while (ms). */
export const IDLE_CHECKPOINT_MAX_TICK_MS = 2_000;

/** Checkpoints one connection's writes once they pause for a tick (see the module doc). */
export class IdleCheckpointer {
  readonly #db: DatabaseSync;
  readonly #changes: StatementSync;
  readonly #tickMs: number;
  readonly #maxTickMs: number;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #delay: number;
  #seen: number;
  #dirty = false;

  constructor(
    db: DatabaseSync,
    tickMs = IDLE_CHECKPOINT_TICK_MS,
    maxTickMs = IDLE_CHECKPOINT_MAX_TICK_MS,
  ) {
    this.#db = db;
    this.#changes = db.prepare("SELECT total_changes() AS n");
    this.#tickMs = tickMs;
    this.#maxTickMs = Math.max(tickMs, maxTickMs);
    this.#delay = tickMs;
    this.#seen = this.#count();
    this.#schedule();
  }

  /** Stops looking (before the connection closes). */
  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#tick();
      if (this.#timer !== null) this.#schedule();
    }, this.#delay);
    // An idle daemon or a CLI command is not kept alive by it.
    Deno.unrefTimer(Number(this.#timer));
  }

  #count(): number {
    return Number((this.#changes.get() as { n: number | bigint }).n);
  }

  #tick(): void {
    try {
      const n = this.#count();
      if (n !== this.#seen) {
        // Still writing: look again soon, and checkpoint once a look finds no new write.
        [this.#seen, this.#dirty, this.#delay] = [n, true, this.#tickMs];
        return;
      }
      if (!this.#dirty) {
        // Idle: look less and less often (an idle daemon's CPU stays near zero).
        this.#delay = Math.min(this.#delay * 2, this.#maxTickMs);
        return;
      }
      this.#dirty = false;
      // PASSIVE: copies what no reader still needs, never waits for a lock.
      this.#db.exec("PRAGMA wal_checkpoint(PASSIVE)");
    } catch {
      // Busy or closing: SQLite's own checkpoint still bounds the WAL; the next write re-arms.
    }
  }
}
