/**
 * @module
 * Whether a daemon start has anything to recover: a task of one direction still `running` or
 * `queued`. One indexed query, without the task modules (and their schemas), so an idle worker
 * thread that has nothing to recover does not load them.
 *
 * @example
 * ```ts
 * import { openStore } from "./db.ts";
 * import { hasUnfinishedTasks } from "./unfinished.ts";
 * const store = openStore(":memory:");
 * hasUnfinishedTasks(store, "inbound"); // false
 * ```
 */
import type { Store } from "./db.ts";
import type { Direction } from "./tasks.ts";

/** True when a task of `direction` is `running` or `queued`. */
export function hasUnfinishedTasks(store: Store, direction: Direction): boolean {
  return store.prepare(
    "SELECT 1 FROM tasks WHERE direction = ? AND state IN ('running', 'queued') LIMIT 1",
  ).get(direction) !== undefined;
}
