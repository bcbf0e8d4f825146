/**
 * @module
 * The worker's event streams (Server-Sent Events). `GET /v1/tasks/:id/events` follows one task
 * (`?after=N` or `Last-Event-ID` resumes). `POST /v1/events` follows every task of the caller
 * (see `protocol/events.ts` for the messages). A requester with a thousand tasks in flight
 * holds one connection here instead of a thousand, and nothing runs while nothing changes:
 * the stream wakes on the task bus, not on a timer (a keep-alive comment every 15 s aside).
 *
 * Only the caller's own tasks are ever sent: every id, listed or announced by the bus, goes
 * through the same caller-scoped `status`/`events` as the other task routes. Each stream takes
 * one of the caller's stream slots, given back when it ends.
 */
import type { Context, Hono } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import { replyError } from "../protocol/errors.ts";
import { EventsRequest, MAX_INLINE_RESULT_CHARS } from "../protocol/events.ts";
import type { TaskEvent } from "../protocol/task.ts";
import { readJsonBody } from "../util/json_request.ts";
import type { WorkerEnv } from "./env.ts";
import type { CallerIdentity } from "../policy/types.ts";
import { EVENTS_PAGE, type WorkerTasks } from "./ports.ts";
import type { StreamSlots } from "./stream_slots.ts";

/** What the event streams need. */
export interface EventsDeps {
  tasks: WorkerTasks;
  streams: StreamSlots;
  maxBodyBytes: number;
  /** Seconds between keep-alive comments (default 15). */
  heartbeatS?: number;
  /**
   * Aborted when the daemon stops: every stream ends then. A server's shutdown waits for open
   * responses, and a requester keeps its stream open for a while after its last task.
   */
  closing?: AbortSignal;
}

/** Adds `GET /v1/tasks/:id/events` (its id already checked) and `POST /v1/events` to `app`. */
export function addEventsRoutes(app: Hono<WorkerEnv>, deps: EventsDeps): void {
  const { tasks } = deps;

  // One task: the stored events after `after`, then each new one, then `end`.
  app.get("/v1/tasks/:id/events", (c) => {
    const id = c.req.param("id");
    const caller = c.get("caller");
    let last = Number(c.req.query("after") ?? c.req.header("last-event-id") ?? "0");
    if (!Number.isSafeInteger(last) || last < 0) {
      return replyError(c, "bad_request", "after must be a non-negative integer");
    }
    if (!tasks.status(caller, id)) return replyError(c, "not_found", `no task ${id} of yours here`);
    return slotStream(c, deps, new Set([id]), async (stream) => {
      const news = tasks.since(caller, id, last);
      last = await eachEvent(
        tasks,
        caller,
        id,
        last,
        news?.events ?? [],
        (ev) => stream.writeSSE({ id: String(ev.seq), event: ev.kind, data: JSON.stringify(ev) }),
      );
      if (news && news.ended === null) return false;
      await send(stream, "end", { state: news?.ended?.status.state ?? "unknown" });
      return true;
    }, id);
  });

  // Every task of the caller: listed ids first, then every open one, then each that changes.
  app.post("/v1/events", async (c) => {
    const body = await readJsonBody(c, EventsRequest, deps.maxBodyBytes);
    if (!body.ok) return c.json(body.body, body.status);
    const caller = c.get("caller");
    // Task id → last seq sent.
    const followed = new Map<string, number>(Object.entries(body.value.after));
    const listed = new Set<string>(followed.keys());
    for (const id of tasks.openTaskIds(caller)) if (!followed.has(id)) followed.set(id, 0);
    // Sends what is new of one task; false when it is not the caller's (not yet, or never).
    const flush = async (stream: SSEStreamingApi, id: string): Promise<boolean> => {
      const after = followed.get(id) ?? 0;
      const news = tasks.since(caller, id, after);
      if (!news) return false;
      const last = await eachEvent(
        tasks,
        caller,
        id,
        after,
        news.events,
        (event) => send(stream, "task", { task_id: id, event }),
      );
      followed.set(id, last);
      if (news.ended) {
        const { status, result } = news.ended;
        // The outcome rides along when it fits (it was stored with the terminal state).
        if (result !== null) {
          const data = JSON.stringify({ task_id: id, status, result });
          if (data.length <= MAX_INLINE_RESULT_CHARS) {
            await stream.writeSSE({ event: "result", data });
          }
        }
        await send(stream, "end", { task_id: id, state: status.state });
        followed.delete(id);
      }
      return true;
    };
    let first = true;
    return slotStream(c, deps, new Set(followed.keys()), async (stream, changed) => {
      for (const id of changed) {
        if (stream.aborted) break;
        const mine = await flush(stream, id);
        if (!mine && first && listed.has(id)) await send(stream, "unknown", { task_id: id });
      }
      if (first) await send(stream, "ready", {});
      first = false;
      return false;
    });
  });
}

function send(stream: SSEStreamingApi, event: string, data: unknown): Promise<void> {
  return stream.writeSSE({ event, data: JSON.stringify(data) });
}

/**
 * Sends `first` (the first page of the caller's events of task `id` after `after`), then the
 * pages after it while they come back full; returns the last seq sent.
 */
async function eachEvent(
  tasks: WorkerTasks,
  caller: CallerIdentity,
  id: string,
  after: number,
  first: TaskEvent[],
  sendOne: (ev: TaskEvent) => Promise<void>,
): Promise<number> {
  for (let evs = first;; evs = tasks.events(caller, id, after) ?? []) {
    for (const ev of evs) {
      await sendOne(ev);
      after = ev.seq;
    }
    if (evs.length < EVENTS_PAGE) return after;
  }
}

/**
 * Runs an SSE stream in one of the caller's stream slots (429 when none is free). `step` gets
 * the ids of the tasks that changed since its last call (`only` that one, when given; at first
 * `dirty`) and says when the stream is complete. Between steps the stream sleeps until a task
 * changes, the client leaves, or the heartbeat (a keep-alive comment when nothing else came).
 */
function slotStream(
  c: Context<WorkerEnv>,
  deps: EventsDeps,
  dirty: Set<string>,
  step: (stream: SSEStreamingApi, changed: string[]) => Promise<boolean>,
  only?: string,
) {
  const caller = c.get("caller");
  const refused = deps.streams.take(caller.stableId);
  if (refused) {
    c.header("Retry-After", "5");
    return replyError(c, "queue_full", refused.message, refused.rule);
  }
  return streamSSE(c, async (stream) => {
    let wake: (() => void) | null = null;
    const unsubscribe = deps.tasks.subscribeAll((id) => {
      if (only !== undefined && id !== only) return;
      dirty.add(id);
      wake?.();
    });
    const heartbeat = setInterval(() => wake?.(), (deps.heartbeatS ?? 15) * 1000);
    stream.onAbort(() => wake?.());
    const onClosing = () => wake?.();
    deps.closing?.addEventListener("abort", onClosing);
    const open = () => !stream.aborted && !deps.closing?.aborted;
    try {
      while (open()) {
        const changed = [...dirty];
        dirty.clear();
        if (await step(stream, changed)) break;
        if (dirty.size) continue;
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (dirty.size) resolve();
        });
        wake = null;
        if (!dirty.size && open()) await stream.write(": keep-alive\n\n");
      }
    } finally {
      deps.closing?.removeEventListener("abort", onClosing);
      clearInterval(heartbeat);
      unsubscribe();
      deps.streams.give(caller.stableId);
    }
  });
}
