/**
 * @module
 * Where a run's events go: stored and announced as they come, until the task holds as many
 * events as it keeps (`store.maxEventsPerTask`). Past that cap each new event only replaces the
 * latest stored one, so from then on the newest is written at most every
 * {@link LATEST_EVENT_EVERY_MS} and once more when the run ends: a runner printing thousands of
 * lines a second no longer costs a write, a wake-up and an event-stream message per line, and
 * what is stored in the end is the same (the first `n - 1` events and the very last one).
 *
 * @example
 * ```ts
 * import { RunEvents } from "./run_events.ts";
 * import type { Store } from "../store/db.ts";
 * import type { TaskBus } from "./task_bus.ts";
 * declare const store: Store;
 * declare const bus: TaskBus;
 * const events = new RunEvents(store, bus, "t_0123456789");
 * events.push({ kind: "message", text: "hello" });
 * events.flush(); // before the terminal state is stored
 * ```
 */
import type { Store } from "../store/db.ts";
import { appendEvent, type NewEvent } from "../store/task_events.ts";
import type { TaskBus } from "./task_bus.ts";

/** How often the latest event is replaced once a task holds all the events it keeps (ms). */
export const LATEST_EVENT_EVERY_MS = 250;

/** One run's event writer (see the module doc). */
export class RunEvents {
  #capped = false;
  #pending: NewEvent | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly store: Store,
    private readonly bus: TaskBus,
    private readonly id: string,
    private readonly everyMs = LATEST_EVENT_EVERY_MS,
  ) {}

  /** Stores `ev` now, or (past the cap) as the latest event within `everyMs`. */
  push(ev: NewEvent): void {
    if (!this.#capped) {
      const stored = this.#write(ev);
      this.#capped = stored.seq >= this.store.maxEventsPerTask;
      return;
    }
    this.#pending = ev;
    this.#timer ??= setTimeout(() => this.flush(), this.everyMs);
  }

  /** Writes the pending latest event, if there is one: also before the run's terminal state. */
  flush(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const ev = this.#pending;
    this.#pending = null;
    if (ev !== null) this.#write(ev);
  }

  #write(ev: NewEvent) {
    const stored = appendEvent(this.store, "inbound", this.id, ev);
    this.bus.emit(this.id);
    return stored;
  }
}
