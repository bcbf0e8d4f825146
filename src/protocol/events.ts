/**
 * @module
 * Wire schemas of `POST /v1/events`: one event stream that follows every task a caller has on
 * a worker, instead of one stream (or two polls a second) per task.
 *
 * The request names where the caller's copy of each task stands (`after`: task id → the last
 * event seq it has). The worker answers with Server-Sent Events, each `data` a JSON object:
 *
 * | `event` | `data` | when |
 * | --- | --- | --- |
 * | `ready` | `{}` | the worker follows every task listed and every open task of the caller |
 * | `task` | {@link StreamTaskEvent} | an event of one of the caller's tasks, in order per task |
 * | `result` | {@link StreamTaskResult} | just before `end`, when the status and result fit in {@link MAX_INLINE_RESULT_CHARS} |
 * | `end` | {@link StreamTaskEnd} | that task is terminal and every event of it was sent |
 * | `unknown` | {@link StreamTaskUnknown} | a listed id is not (yet) a task of the caller here |
 *
 * Tasks the caller submits while the stream is open are followed from their first event. With
 * `result` a requester stores the outcome without asking for it again (two round trips fewer
 * per task); without it (a large result, or an older worker) it asks. Older requesters ignore
 * `result`: an event kind a reader does not know is skipped.
 *
 * @example
 * ```ts
 * import { EventsRequest } from "./events.ts";
 * EventsRequest.parse({ after: { t_0123456789abcdef: 3 } });
 * ```
 */
import { z } from "../deps/zod.ts";
import { TASK_STATES, TaskEvent, TaskId, TaskResult, TaskStatus } from "./task.ts";

/** The most task ids one `POST /v1/events` may list. */
export const MAX_STREAM_TASKS = 10_000;

/** What a requester sends to `POST /v1/events`. */
export const EventsRequest = z.strictObject({
  after: z.record(TaskId, z.int().nonnegative()).refine(
    (m) => Object.keys(m).length <= MAX_STREAM_TASKS,
    { message: `must list at most ${MAX_STREAM_TASKS} tasks` },
  ).describe("Task id → the seq of the last event the caller has of it (0: none)."),
});
/** @see {@link EventsRequest} */
export type EventsRequest = z.infer<typeof EventsRequest>;

/** `event: task`: one event of one task. */
export const StreamTaskEvent = z.strictObject({ task_id: TaskId, event: TaskEvent });
/** @see {@link StreamTaskEvent} */
export type StreamTaskEvent = z.infer<typeof StreamTaskEvent>;

/** The longest `result` message (JSON characters); a larger outcome is asked for instead. */
export const MAX_INLINE_RESULT_CHARS = 256 * 1024;

/** `event: result`: the terminal status and the result of one task, sent just before its `end`. */
export const StreamTaskResult = z.strictObject({
  task_id: TaskId,
  status: TaskStatus,
  result: TaskResult,
});
/** @see {@link StreamTaskResult} */
export type StreamTaskResult = z.infer<typeof StreamTaskResult>;

/** `event: end`: the task is terminal and all its events were sent before this. */
export const StreamTaskEnd = z.strictObject({ task_id: TaskId, state: z.enum(TASK_STATES) });
/** @see {@link StreamTaskEnd} */
export type StreamTaskEnd = z.infer<typeof StreamTaskEnd>;

/** `event: unknown`: a listed id is not a task of this caller here (not yet, or not any more). */
export const StreamTaskUnknown = z.strictObject({ task_id: TaskId });
/** @see {@link StreamTaskUnknown} */
export type StreamTaskUnknown = z.infer<typeof StreamTaskUnknown>;
