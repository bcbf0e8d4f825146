/**
 * @module
 * In-process notifications "task X changed", so long-polls and SSE followers wake at once
 * instead of polling the store.
 *
 * @example
 * ```ts
 * const bus = new TaskBus();
 * const off = bus.on("t_00000001", () => console.log("changed"));
 * bus.emit("t_00000001");
 * off();
 * ```
 */

/** A per-task change signal. */
export class TaskBus {
  #listeners = new Map<string, Set<() => void>>();

  /** Registers `fn` for changes of task `id`; returns the unsubscribe function. */
  on(id: string, fn: () => void): () => void {
    let set = this.#listeners.get(id);
    if (!set) this.#listeners.set(id, set = new Set());
    set.add(fn);
    return () => {
      set!.delete(fn);
      if (set!.size === 0) this.#listeners.delete(id);
    };
  }

  #any = new Set<(id: string) => void>();

  /** Registers `fn` for changes of every task (it gets the id); returns the unsubscribe. */
  onAny(fn: (id: string) => void): () => void {
    this.#any.add(fn);
    return () => this.#any.delete(fn);
  }

  /** Signals that task `id` changed. */
  emit(id: string): void {
    for (const fn of this.#listeners.get(id) ?? []) fn();
    for (const fn of this.#any) fn(id);
  }

  /** Resolves when task `id` changes or after `ms`, whichever is first (or on abort). */
  waitFor(id: string, ms: number, signal?: AbortSignal): Promise<"changed" | "timeout"> {
    return new Promise((resolve) => {
      const done = (why: "changed" | "timeout") => {
        clearTimeout(timer);
        off();
        signal?.removeEventListener("abort", onAbort);
        resolve(why);
      };
      const onAbort = () => done("timeout");
      const timer = setTimeout(() => done("timeout"), ms);
      const off = this.on(id, () => done("changed"));
      signal?.addEventListener("abort", onAbort);
    });
  }
}
