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
import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { replyError } from "../protocol/errors.ts";
import { EventsRequest } from "../protocol/events.ts";
import { isTerminal, type TaskEvent } from "../protocol/task.ts";
import { readJsonBody } from "../util/json_request.ts";
import type { WorkerEnv } from "./env.ts";
import type { WorkerTasks } from "./ports.ts";
import type { StreamSlots } from "./stream_slots.ts";

/** What the event streams need. */
export interface EventsDeps {
  tasks: WorkerTasks;
  streams: StreamSlots;
  maxBodyBytes: number;
  /** Seconds between keep-alive comments (default 15). */
  heartbeatS?: number;
}

/** Adds `GET /v1/tasks/:id/events` (its id already checked) and `POST /v1/events` to `app`. */
export function addEventsRoutes(app: Hono<WorkerEnv>, deps: EventsDeps): void {
  addTaskEventsRoute(app, deps);
  app.post("/v1/events", async (c) => {
    const body = await readJsonBody(c, EventsRequest, deps.maxBodyBytes);
    if (!body.ok) return c.json(body.body, body.status);
    const caller = c.get("caller");
    const refused = deps.streams.take(caller.stableId);
    if (refused) {
      c.header("Retry-After", "5");
      return replyError(c, "queue_full", refused.message, refused.rule);
    }
    const { tasks } = deps;
    return streamSSE(c, async (stream) => {
      // Task id → last seq sent. Listed ids first, then every open task of the caller.
      const followed = new Map<string, number>(Object.entries(body.value.after));
      for (const id of tasks.openTaskIds(caller)) if (!followed.has(id)) followed.set(id, 0);
      const dirty = new Set<string>(followed.keys());
      const listed = new Set<string>(followed.keys());
      let wake: (() => void) | null = null;
      const unsubscribe = tasks.subscribeAll((id) => {
        dirty.add(id);
        wake?.();
      });
      const heartbeat = setInterval(() => wake?.(), (deps.heartbeatS ?? 15) * 1000);
      stream.onAbort(() => wake?.());
      const send = (event: string, data: unknown) =>
        stream.writeSSE({ event, data: JSON.stringify(data) });
      // Sends what is new of one task; false when it is not the caller's (not yet, or never).
      const flush = async (id: string): Promise<boolean> => {
        // Status first: a terminal state and its last event are stored together, so once the
        // state reads terminal, the events read next are all there will be.
        const status = tasks.status(caller, id);
        if (!status) return false;
        let last = followed.get(id) ?? 0;
        for (;;) {
          const evs = tasks.events(caller, id, last) ?? [];
          for (const ev of evs) {
            await send("task", { task_id: id, event: ev });
            last = ev.seq;
          }
          if (evs.length < 1000) break;
        }
        followed.set(id, last);
        if (isTerminal(status.state)) {
          await send("end", { task_id: id, state: status.state });
          followed.delete(id);
        }
        return true;
      };
      try {
        let first = true;
        while (!stream.aborted) {
          const batch = [...dirty];
          dirty.clear();
          for (const id of batch) {
            if (stream.aborted) break;
            const mine = await flush(id);
            if (!mine && first && listed.has(id)) await send("unknown", { task_id: id });
          }
          if (first) await send("ready", {});
          first = false;
          if (dirty.size) continue;
          await new Promise<void>((resolve) => {
            wake = resolve;
            if (dirty.size) resolve();
          });
          wake = null;
          if (!dirty.size && !stream.aborted) await stream.write(": keep-alive\n\n");
        }
      } finally {
        clearInterval(heartbeat);
        unsubscribe();
        deps.streams.give(caller.stableId);
      }
    });
  });
}

/** `GET /v1/tasks/:id/events`: the stored events after `after`, then each new one, then `end`. */
function addTaskEventsRoute(app: Hono<WorkerEnv>, deps: EventsDeps): void {
  const { tasks } = deps;
  app.get("/v1/tasks/:id/events", (c) => {
    const id = c.req.param("id");
    const caller = c.get("caller");
    const after = Number(c.req.query("after") ?? c.req.header("last-event-id") ?? "0");
    if (!Number.isSafeInteger(after) || after < 0) {
      return replyError(c, "bad_request", "after must be a non-negative integer");
    }
    if (!tasks.status(caller, id)) return replyError(c, "not_found", `no task ${id} of yours here`);
    const refused = deps.streams.take(caller.stableId);
    if (refused) {
      c.header("Retry-After", "5");
      return replyError(c, "queue_full", refused.message, refused.rule);
    }
    return streamSSE(c, async (stream) => {
      let last = after;
      let wake: (() => void) | null = null;
      const pending: TaskEvent[] = [];
      const unsubscribe = tasks.subscribe(id, (ev) => {
        pending.push(ev);
        wake?.();
      });
      const heartbeat = setInterval(() => wake?.(), (deps.heartbeatS ?? 15) * 1000);
      stream.onAbort(() => wake?.());
      const send = async (ev: TaskEvent) => {
        if (ev.seq <= last) return;
        await stream.writeSSE({ id: String(ev.seq), event: ev.kind, data: JSON.stringify(ev) });
        last = ev.seq;
      };
      try {
        for (const ev of tasks.events(caller, id, last) ?? []) await send(ev);
        while (!stream.aborted) {
          const status = tasks.status(caller, id);
          while (pending.length) await send(pending.shift()!);
          if (!status || isTerminal(status.state)) {
            // The terminal state and its event are stored in one transaction, and nothing is
            // stored after it: one more read catches every event, no waiting needed.
            for (const ev of tasks.events(caller, id, last) ?? []) await send(ev);
            const state = status?.state ?? "unknown";
            await stream.writeSSE({ event: "end", data: JSON.stringify({ state }) });
            break;
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
            if (pending.length) resolve();
          });
          wake = null;
          if (!pending.length) await stream.write(": keep-alive\n\n");
        }
      } finally {
        clearInterval(heartbeat);
        unsubscribe();
        deps.streams.give(caller.stableId);
      }
    });
  });
}
