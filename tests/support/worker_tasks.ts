/**
 * The worker's tasks (`createWorkerTasks`) over an in-memory store, with a run queue whose jobs
 * never finish on their own (tasks stay queued or running until cancelled), for tests of what
 * the worker answers: admission, the task routes, the event streams.
 */
import type { Config } from "../../src/config/schema.ts";
import { resolveRoots } from "../../src/inbound/cwd_resolve.ts";
import { RunQueue } from "../../src/scheduler/queue.ts";
import { TaskBus } from "../../src/scheduler/task_bus.ts";
import { openStore } from "../../src/store/db.ts";
import { createWorkerTasks } from "../../src/worker/tasks.ts";

/** Builds the worker's tasks for `config` (its only runner is `fake`, which never runs). */
export async function idleWorkerTasks(
  config: Config,
  opts: { maxConcurrent?: number; nodeName?: string } = {},
) {
  const store = openStore(":memory:");
  const bus = new TaskBus();
  const queue = new RunQueue(
    { maxConcurrent: opts.maxConcurrent ?? 1 },
    (_job, signal) => new Promise((r) => signal.addEventListener("abort", () => r())),
  );
  const tasks = createWorkerTasks({
    config,
    store,
    queue,
    bus,
    nodeName: opts.nodeName ?? "server",
    runners: new Map([["fake", {} as never]]),
    rootsReal: await resolveRoots(config.inbound.allow),
    caseInsensitive: false,
  });
  return { store, bus, queue, tasks };
}
