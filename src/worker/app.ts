/**
 * @module
 * The tailnet-facing worker API, `/v1`. Every request passes admission's source and identity
 * guards (`admission.ts`: source address, then the browser/Host guard on headers only, so a
 * rebinding page costs no LocalAPI call, then whois), then its handler: validate, then act. A
 * caller sees only its own tasks. Front-door refusals are audited through a per-rule rate limit.
 *
 * | Route | What it does |
 * | --- | --- |
 * | `GET /v1/hello` | version, protocol, what *this caller* may do here |
 * | `POST /v1/tasks` | submit a task (idempotent on the client task id) |
 * | `GET /v1/tasks/:id` | status |
 * | `GET /v1/tasks/:id/result` | result (409 `not_finished` until terminal) |
 * | `GET /v1/tasks/:id/events` | SSE progress (`?after=N` resumes; `events_route.ts`) |
 * | `POST /v1/tasks/:id/cancel` | cancel |
 * | `POST /v1/events` | SSE of all the caller's tasks (`events_route.ts`) |
 */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { replyError } from "../protocol/errors.ts";
import { TaskId, TaskRequest } from "../protocol/task.ts";
import { storageProblem } from "../store/errors.ts";
import { readJsonBody } from "../util/json_request.ts";
import { logger } from "../util/log.ts";
import { admissionGuards, type GuardDeps } from "./admission.ts";
import type { WorkerEnv } from "./env.ts";
import { addEventsRoutes } from "./events_route.ts";
import { RateLimitedAudit } from "./guards/audit_limit.ts";
import type { TaskOutcome, WorkerTasks } from "./ports.ts";
import { StreamSlots } from "./stream_slots.ts";

/** What the worker app needs. */
export interface WorkerAppDeps extends GuardDeps {
  tasks: WorkerTasks;
  /** Where front-door refusals are audited; default a {@link RateLimitedAudit} over `tasks`. */
  frontAudit?: RateLimitedAudit;
  maxBodyBytes: number;
  /** Concurrent SSE streams allowed (bounded so followers cannot exhaust the daemon). */
  maxStreams?: number;
  /** Each caller's share of `maxStreams`, so one peer cannot take every slot. */
  maxStreamsPerCaller?: number;
  /** Seconds between SSE keep-alive comments. */
  heartbeatS?: number;
  /** Aborted when the daemon stops: the event streams end (see `events_route.ts`). */
  closing?: AbortSignal;
}

/** Builds the worker Hono app. Serve it with `Deno.serve({hostname: tailnetIp}, app.fetch)`. */
export function createWorkerApp(deps: WorkerAppDeps): Hono<WorkerEnv> {
  const app = new Hono<WorkerEnv>();

  const frontAudit = deps.frontAudit ?? new RateLimitedAudit(deps.tasks);
  app.use("*", ...admissionGuards(deps, frontAudit));

  // deno-lint-ignore no-explicit-any
  const outcome = (c: Context<WorkerEnv, any>, o: TaskOutcome) => {
    if (o.ok) return c.json({ task: o.task }, o.status);
    if (o.retryAfterS !== undefined) c.header("Retry-After", String(o.retryAfterS));
    return c.json(o.body, o.status);
  };

  app.get("/v1/hello", (c) => c.json(deps.tasks.hello(c.get("caller"))));

  app.post("/v1/tasks", async (c) => {
    const body = await readJsonBody(c, TaskRequest, deps.maxBodyBytes);
    if (!body.ok) return c.json(body.body, body.status);
    return outcome(c, await deps.tasks.submit(c.get("caller"), body.value, c.get("sourceIp")));
  });

  // Every route under /v1/tasks/:id starts from a well-formed id.
  const wellFormedId: MiddlewareHandler<WorkerEnv> = async (c, next) => {
    const id = c.req.param("id") ?? "";
    const parsed = TaskId.safeParse(id);
    if (parsed.success) return await next();
    const why = parsed.error.issues[0]?.message;
    return replyError(c, "bad_request", `task id "${id.slice(0, 80)}" is malformed: ${why}`);
  };
  app.use("/v1/tasks/:id", wellFormedId);
  app.use("/v1/tasks/:id/*", wellFormedId);

  app.get("/v1/tasks/:id", (c) => {
    const id = c.req.param("id");
    const task = deps.tasks.status(c.get("caller"), id);
    return task ? c.json({ task }) : replyError(c, "not_found", `no task ${id} of yours here`);
  });

  app.get("/v1/tasks/:id/result", (c) => {
    const id = c.req.param("id");
    const result = deps.tasks.result(c.get("caller"), id);
    if (result === null) return replyError(c, "not_found", `no task ${id} of yours here`);
    if (result === "pending") {
      const reason =
        `task ${id} has not finished; follow /v1/tasks/${id}/events or poll its status`;
      return replyError(c, "conflict", reason);
    }
    return c.json({ result });
  });

  app.post("/v1/tasks/:id/cancel", async (c) => {
    return outcome(c, await deps.tasks.cancel(c.get("caller"), c.req.param("id")));
  });

  addEventsRoutes(app, {
    tasks: deps.tasks,
    streams: new StreamSlots(deps.maxStreams ?? 256, deps.maxStreamsPerCaller ?? 32),
    maxBodyBytes: deps.maxBodyBytes,
    heartbeatS: deps.heartbeatS,
    closing: deps.closing,
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
