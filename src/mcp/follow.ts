/**
 * @module
 * Following a delegated task for a bounded time: loop on the daemon's `/wait` long-poll
 * (≤ 10 s per request, so a stuck request never outlives the caller's budget by much),
 * collect events, report progress, and fetch the result once the task is terminal.
 *
 * Giving up waiting never cancels the task: that is `cmesh_cancel`'s job.
 *
 * @example
 * ```ts
 * import { followTask } from "./follow.ts";
 * import { LazyControl } from "./control.ts";
 * import { ProgressReporter } from "./progress.ts";
 * const out = await followTask(new LazyControl("/x/config.toml"), "t0123456789", {
 *   waitSeconds: 30, after: 0, progress: new ProgressReporter({ send: async () => {} }),
 * });
 * ```
 */
import { type ControlCalls, followTask as follow } from "../control/calls.ts";
import type { WaitAnswer } from "../protocol/control.ts";
import { isTerminal } from "../protocol/task.ts";
import { progressLine } from "./format.ts";
import type { ProgressReporter } from "./progress.ts";
import type { ToolError } from "./results.ts";
import {
  type EventOut,
  type FollowOut,
  type ResultOut,
  type TaskOut,
  toEventOut,
  toResultOut,
  toTaskOut,
} from "./schemas.ts";

/** Longest single long-poll to the daemon (seconds). */
export const POLL_S = 10;
/** Most events returned by one follow; older ones are counted in `events_omitted`. */
export const MAX_EVENTS = 30;
/** Least time between two progress notifications while the state stays the same. */
export const HEARTBEAT_MS = 1000;

/** Options of {@link followTask}. */
export interface FollowOptions {
  /** How long to wait for the task to finish (0: one look, no waiting). */
  waitSeconds: number;
  /** Only events with `seq > after` are returned. */
  after: number;
  progress: ProgressReporter;
  /** The tool call's signal: the client gave up. */
  signal?: AbortSignal;
  pollS?: number;
  /** The first long poll's answer, already in hand (a delegate call that waited). */
  first?: WaitAnswer;
  /** When the waiting began (epoch ms; default now): the budget counts from there. */
  startedAt?: number;
}

/** The outcome of {@link followTask}. */
export type FollowAnswer = { ok: true; value: FollowOut } | { ok: false; error: ToolError };

/** The stored result of a terminal task, or null when there is none. */
export async function fetchResult(
  control: ControlCalls,
  task: TaskOut,
  signal?: AbortSignal,
): Promise<ResultOut | null> {
  const res = await control.result(task.id, signal);
  return res.ok ? toResultOut(res.value.result, task.peer) : null;
}

/** Waits up to `waitSeconds` for the task to finish, reporting progress on the way. */
export async function followTask(
  control: ControlCalls,
  id: string,
  opts: FollowOptions,
): Promise<FollowAnswer> {
  const started = opts.startedAt ?? Date.now();
  let events: EventOut[] = [];
  let omitted = 0;
  let reportedState: string | null = null;
  let reportedAt = Number.NEGATIVE_INFINITY;
  const end = await follow(control, id, {
    after: opts.after,
    pollS: opts.pollS ?? POLL_S,
    deadline: started + opts.waitSeconds * 1000,
    // Without a progress token nobody sees intermediate events as they come: one long-poll
    // until the end (they are all in its answer) instead of one per event.
    untilTerminal: !opts.progress.enabled,
    signal: opts.signal,
    first: opts.first,
    onEvent: (ev) => {
      events.push(toEventOut(ev));
      if (events.length > MAX_EVENTS) {
        omitted += events.length - MAX_EVENTS;
        events = events.slice(-MAX_EVENTS);
      }
    },
    onStatus: async (t) => {
      const now = Date.now();
      if (
        opts.progress.enabled &&
        (isTerminal(t.state) || t.state !== reportedState || now - reportedAt >= HEARTBEAT_MS)
      ) {
        await opts.progress.report(progressLine(toTaskOut(t), now));
        reportedState = t.state;
        reportedAt = Date.now();
      }
    },
  });
  if (!end.ok) return { ok: false, error: end.error };
  const task = toTaskOut(end.value.task);
  const done = isTerminal(task.state);
  const result = end.value.result ? toResultOut(end.value.result, task.peer) : null;
  await opts.progress.settle();
  return {
    ok: true,
    value: {
      task_id: task.id,
      peer: task.peer,
      state: task.state,
      done,
      waited_s: Math.round((Date.now() - started) / 100) / 10,
      task,
      events,
      events_omitted: omitted,
      next_after: events.at(-1)?.seq ?? opts.after,
      result,
    },
  };
}
