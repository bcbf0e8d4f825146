/**
 * @module
 * The in-memory run queue: FIFO with a global concurrency limit and a per-peer one. The store
 * is the source of truth (queued tasks are persisted before they get here); this only
 * decides *when* each starts, and lets a running task be cancelled.
 *
 * @example
 * ```ts
 * declare function work(taskId: string, signal: AbortSignal): Promise<void>;
 * const q = new RunQueue({ maxConcurrent: 2 }, async (task, signal) => { await work(task.id, signal); });
 * q.enqueue({ id: "t_000000001", requesterStableId: "nodeStable1", peerMaxConcurrent: 1 });
 * ```
 */
import { logger } from "../util/log.ts";

/** A queued task: its id, whose it is, and that peer's own concurrency limit. */
export interface QueuedTask {
  id: string;
  requesterStableId: string;
  peerMaxConcurrent?: number;
}

/** Runs one queued task; must settle. `signal` aborts on cancel or shutdown. */
export type RunQueuedTask = (task: QueuedTask, signal: AbortSignal) => Promise<void>;

/** Counts for admission decisions and `status`. */
export interface QueueCounts {
  running: number;
  queued: number;
}

/** FIFO run queue with global and per-peer concurrency. */
export class RunQueue {
  #waiting: QueuedTask[] = [];
  // Counts kept alongside the lists, so admission costs the same with 10,000 queued as with 1.
  #waitingIds = new Set<string>();
  #queuedBy = new Map<string, number>();
  #runningBy = new Map<string, number>();
  #running = new Map<string, { task: QueuedTask; ctl: AbortController; done: Promise<void> }>();
  #closed = false;

  constructor(
    private readonly limits: { maxConcurrent: number },
    private readonly run: RunQueuedTask,
  ) {}

  /** Adds a task (ignored if the id is already queued or running). */
  enqueue(task: QueuedTask): void {
    if (this.#closed || this.#running.has(task.id) || this.#waitingIds.has(task.id)) return;
    this.#waiting.push(task);
    this.#waitingIds.add(task.id);
    bump(this.#queuedBy, task.requesterStableId, 1);
    this.#pump();
  }

  /** Cancels a task: removes it if waiting (returns "dequeued"), aborts it if running. */
  cancel(id: string, reason = "cancelled"): "dequeued" | "aborted" | "unknown" {
    const i = this.#waitingIds.has(id) ? this.#waiting.findIndex((j) => j.id === id) : -1;
    if (i >= 0) {
      this.#unqueue(i);
      return "dequeued";
    }
    const r = this.#running.get(id);
    if (r) {
      r.ctl.abort(reason);
      return "aborted";
    }
    return "unknown";
  }

  /** Global counts, or one peer's when `requesterStableId` is given. */
  counts(requesterStableId?: string): QueueCounts {
    if (requesterStableId === undefined) {
      return { running: this.#running.size, queued: this.#waiting.length };
    }
    return {
      running: this.#runningBy.get(requesterStableId) ?? 0,
      queued: this.#queuedBy.get(requesterStableId) ?? 0,
    };
  }

  /** 1-based position of a waiting task, or null. */
  position(id: string): number | null {
    if (!this.#waitingIds.has(id)) return null;
    return this.#waiting.findIndex((j) => j.id === id) + 1;
  }

  /** Stops starting tasks, aborts running ones and waits for them (bounded by the runners). */
  async close(reason = "shutdown"): Promise<void> {
    this.#closed = true;
    this.#waiting = [];
    this.#waitingIds.clear();
    this.#queuedBy.clear();
    for (const r of this.#running.values()) r.ctl.abort(reason);
    await Promise.allSettled([...this.#running.values()].map((r) => r.done));
  }

  #unqueue(i: number): QueuedTask {
    const [task] = this.#waiting.splice(i, 1);
    this.#waitingIds.delete(task.id);
    bump(this.#queuedBy, task.requesterStableId, -1);
    return task;
  }

  #pump(): void {
    while (!this.#closed && this.#running.size < this.limits.maxConcurrent) {
      const i = this.#waiting.findIndex((j) =>
        j.peerMaxConcurrent === undefined ||
        (this.#runningBy.get(j.requesterStableId) ?? 0) < j.peerMaxConcurrent
      );
      if (i < 0) return;
      const task = this.#unqueue(i);
      bump(this.#runningBy, task.requesterStableId, 1);
      const ctl = new AbortController();
      const done = this.run(task, ctl.signal)
        .catch((e) =>
          logger("scheduler").error("task {id} failed unexpectedly: {error}", {
            id: task.id,
            error: String(e),
          })
        )
        .finally(() => {
          this.#running.delete(task.id);
          bump(this.#runningBy, task.requesterStableId, -1);
          this.#pump();
        });
      this.#running.set(task.id, { task, ctl, done });
    }
  }
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}
