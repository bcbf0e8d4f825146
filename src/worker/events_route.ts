/**
 * @module
 * `POST /v1/events`: one Server-Sent Events stream that follows every task of the caller
 * (see `protocol/events.ts` for the messages). A requester with a thousand tasks in flight
 * holds one connection here instead of a thousand, and nothing runs while nothing changes:
 * the stream wakes on the task bus, not on a timer (a keep-alive comment every 15 s aside).
 *
 * Only the caller's own tasks are ever sent: every id, listed or announced by the bus, goes
 * through the same caller-scoped `status`/`events` as the per-task routes.
 */
import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { replyError } from "../protocol/errors.ts";
import { EventsRequest } from "../protocol/events.ts";
import { isTerminal } from "../protocol/task.ts";
import { readJsonBody } from "../util/json_request.ts";
import type { WorkerEnv } from "./env.ts";
import type { WorkerTasks } from "./ports.ts";
import type { StreamSlots } from "./stream_slots.ts";

/** Adds `POST /v1/events` to `app`. */
export function addEventsRoute(
  app: Hono<WorkerEnv>,
  deps: {
    tasks: WorkerTasks;
    streams: StreamSlots;
    maxBodyBytes: number;
    heartbeatS?: number;
  },
): void {
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
