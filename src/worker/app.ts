/**
 * @module
 * The tailnet-facing worker API, `/v1`. Every request passes the source guard, then the
 * browser/Host guard (no `Origin`, no cross-site `Sec-Fetch-Site`, a `Host` naming this node;
 * headers only, so it runs before whois and a rebinding page costs no LocalAPI call), then
 * whois, then its handler: validate, then act. A caller sees only its own tasks. Front-door
 * refusals are audited through a per-rule rate limit.
 *
 * | Route | What it does |
 * | --- | --- |
 * | `GET /v1/hello` | version, protocol, what *this caller* may do here |
 * | `POST /v1/tasks` | submit a task (idempotent on the client task id) |
 * | `GET /v1/tasks/:id` | status |
 * | `GET /v1/tasks/:id/result` | result (409 `not_finished` until terminal) |
 * | `GET /v1/tasks/:id/events` | SSE progress (`?after=N` resumes) |
 * | `POST /v1/tasks/:id/cancel` | cancel |
 * | `POST /v1/events` | SSE of all the caller's tasks (`events_route.ts`) |
 */
import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { replyError } from "../protocol/errors.ts";
import { isTerminal, type TaskEvent, TaskId, TaskRequest } from "../protocol/task.ts";
import { storageProblem } from "../store/errors.ts";
import { readJsonBody } from "../util/json_request.ts";
import { logger } from "../util/log.ts";
import type { WorkerEnv } from "./env.ts";
import { callerIdentity } from "./guards/caller_identity.ts";
import { frontDoor } from "../util/front_door.ts";
import { RateLimitedAudit } from "./guards/audit_limit.ts";
import { type SourceOptions, tailnetSource } from "./guards/tailnet_source.ts";
import type { IdentityLookup, TaskOutcome, WorkerTasks } from "./ports.ts";
import { addEventsRoute } from "./events_route.ts";
import { StreamSlots } from "./stream_slots.ts";

/** What the worker app needs. */
export interface WorkerAppDeps {
  tasks: WorkerTasks;
  identity: IdentityLookup;
  source: SourceOptions;
  /** Which `Host` values name this worker (`guards/node_hosts.ts`). */
  hosts: { allowed(host: string): boolean; describe(): string };
  /** Where front-door refusals are audited; default a {@link RateLimitedAudit} over `tasks`. */
  frontAudit?: RateLimitedAudit;
  maxBodyBytes: number;
  /** Concurrent SSE streams allowed (bounded so followers cannot exhaust the daemon). */
  maxStreams?: number;
  /** Each caller's share of `maxStreams`, so one peer cannot take every slot. */
  maxStreamsPerCaller?: number;
  /** Seconds between SSE keep-alive comments. */
  heartbeatS?: number;
}

/** Builds the worker Hono app. Serve it with `Deno.serve({hostname: tailnetIp}, app.fetch)`. */
export function createWorkerApp(deps: WorkerAppDeps): Hono<WorkerEnv> {
  const app = new Hono<WorkerEnv>();
  const streams = new StreamSlots(deps.maxStreams ?? 256, deps.maxStreamsPerCaller ?? 32);

  const frontAudit = deps.frontAudit ?? new RateLimitedAudit(deps.tasks);
  app.use("*", tailnetSource(deps.source, frontAudit));
  app.use(
    "*",
    frontDoor({
      hostAllowed: (host) => deps.hosts.allowed(host),
      expected: () => deps.hosts.describe(),
      surface: "this cmesh worker",
      onDenied: (c, rule, reason) =>
        frontAudit.auditDenied({ sourceIp: c.get("sourceIp"), rule, reason }),
    }),
  );
  app.use("*", callerIdentity(deps.identity, frontAudit));

  // deno-lint-ignore no-explicit-any
  const outcome = (c: Context<WorkerEnv, any>, o: TaskOutcome) => {
    if (o.ok) return c.json({ task: o.task }, o.status);
    if (o.retryAfterS !== undefined) c.header("Retry-After", String(o.retryAfterS));
    return c.json(o.body, o.status);
  };
  const badId = (id: string) =>
    TaskId.safeParse(id).success
      ? null
      : `task id "${id.slice(0, 80)}" is malformed: ${
        TaskId.safeParse(id).error?.issues[0]?.message
      }`;

  app.get("/v1/hello", (c) => c.json(deps.tasks.hello(c.get("caller"))));

  app.post("/v1/tasks", async (c) => {
    const body = await readJsonBody(c, TaskRequest, deps.maxBodyBytes);
    if (!body.ok) return c.json(body.body, body.status);
    return outcome(c, await deps.tasks.submit(c.get("caller"), body.value, c.get("sourceIp")));
  });

  app.get("/v1/tasks/:id", (c) => {
    const id = c.req.param("id");
    const bad = badId(id);
    if (bad) return replyError(c, "bad_request", bad);
    const task = deps.tasks.status(c.get("caller"), id);
    return task ? c.json({ task }) : replyError(c, "not_found", `no task ${id} of yours here`);
  });

  app.get("/v1/tasks/:id/result", (c) => {
    const id = c.req.param("id");
    const bad = badId(id);
    if (bad) return replyError(c, "bad_request", bad);
    const result = deps.tasks.result(c.get("caller"), id);
    if (result === null) return replyError(c, "not_found", `no task ${id} of yours here`);
    if (result === "pending") {
      return replyError(
        c,
        "conflict",
        `task ${id} has not finished; follow /v1/tasks/${id}/events or poll its status`,
      );
    }
    return c.json({ result });
  });

  app.post("/v1/tasks/:id/cancel", async (c) => {
    const id = c.req.param("id");
    const bad = badId(id);
    if (bad) return replyError(c, "bad_request", bad);
    return outcome(c, await deps.tasks.cancel(c.get("caller"), id));
  });

  addEventsRoute(app, {
    tasks: deps.tasks,
    streams,
    maxBodyBytes: deps.maxBodyBytes,
    heartbeatS: deps.heartbeatS,
  });

  app.get("/v1/tasks/:id/events", (c) => {
    const id = c.req.param("id");
    const bad = badId(id);
    if (bad) return replyError(c, "bad_request", bad);
    const caller = c.get("caller");
    const after = Number(c.req.query("after") ?? c.req.header("last-event-id") ?? "0");
    if (!Number.isSafeInteger(after) || after < 0) {
      return replyError(c, "bad_request", "after must be a non-negative integer");
    }
    if (!deps.tasks.status(caller, id)) {
      return replyError(c, "not_found", `no task ${id} of yours here`);
    }
    const refused = streams.take(caller.stableId);
    if (refused) {
      c.header("Retry-After", "5");
      return replyError(c, "queue_full", refused.message, refused.rule);
    }
    return streamSSE(c, async (stream) => {
      let last = after;
      let wake: (() => void) | null = null;
      const pending: TaskEvent[] = [];
      const unsubscribe = deps.tasks.subscribe(id, (ev) => {
        pending.push(ev);
        wake?.();
      });
      const heartbeat = setInterval(() => wake?.(), (deps.heartbeatS ?? 15) * 1000);
      stream.onAbort(() => wake?.());
      try {
        for (const ev of deps.tasks.events(caller, id, last) ?? []) {
          await stream.writeSSE({ id: String(ev.seq), event: ev.kind, data: JSON.stringify(ev) });
          last = ev.seq;
        }
        while (!stream.aborted) {
          const status = deps.tasks.status(caller, id);
          while (pending.length) {
            const ev = pending.shift()!;
            if (ev.seq <= last) continue;
            await stream.writeSSE({ id: String(ev.seq), event: ev.kind, data: JSON.stringify(ev) });
            last = ev.seq;
          }
          if (!status || isTerminal(status.state)) {
            // The terminal state and its event are stored in one transaction, and nothing is
            // stored after it: one more read catches every event, no waiting needed.
            for (const ev of deps.tasks.events(caller, id, last) ?? []) {
              await stream.writeSSE({
                id: String(ev.seq),
                event: ev.kind,
                data: JSON.stringify(ev),
              });
              last = ev.seq;
            }
            await stream.writeSSE({
              event: "end",
              data: JSON.stringify({ state: status?.state ?? "unknown" }),
            });
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
        streams.give(caller.stableId);
      }
    });
  });

  app.notFound((c) =>
    replyError(
      c,
      "not_found",
      `no route ${c.req.method} ${
        new URL(c.req.url).pathname
      }; see docs/architecture.md for the /v1 API`,
    )
  );
  app.onError((err, c) => {
    logger("worker").error("unhandled error on {path}: {error}", {
      path: c.req.path,
      error: String(err),
    });
    const storage = storageProblem(err);
    if (storage) {
      c.header("Retry-After", "30");
      return replyError(
        c,
        "storage_unavailable",
        `this worker cannot write its state (${storage}); nothing was recorded, retry later`,
      );
    }
    return replyError(c, "internal", "internal error; the daemon log has details");
  });
  return app;
}
