/**
 * @module
 * The loopback control API for `cmesh mcp` and the CLI. Guards first (loopback source, Host,
 * no Origin, bearer token, bounded bodies), then thin handlers over the interfaces of
 * `ports.ts`: the requester's outbound tasks and this node's view.
 *
 * | Route | What it does |
 * | --- | --- |
 * | `GET /v1/status` | daemon, tailnet, worker, runners |
 * | `GET /v1/peers` | outbound peers, online state, what each allows me |
 * | `POST /v1/delegate` | delegate a task to a peer (`wait_s` ≤ 60: then wait as `/wait` does, `until=terminal` too, in the same call) |
 * | `GET /v1/tasks` | recent outbound tasks (`state`, `peer`, `limit`) |
 * | `GET /v1/tasks/:id` | status (+ peer) |
 * | `GET /v1/tasks/:id/result` | result (claims and evidence) |
 * | `GET /v1/tasks/:id/events` | stored events after `after` |
 * | `GET /v1/tasks/:id/wait` | long-poll until new events or terminal (`after`, `timeout_s` ≤ 60; `until=terminal`: only the end) |
 * | `POST /v1/tasks/:id/cancel` | cancel at the peer |
 */
import { type Context, Hono } from "hono";
import type { DelegateOutcome } from "../delegation/dispatch.ts";
import { type ErrorCode, replyError } from "../protocol/errors.ts";
import { DelegateBody } from "../protocol/control.ts";
import { isTerminal, TASK_STATES, TaskId } from "../protocol/task.ts";
import { storageProblem } from "../store/errors.ts";
import { readJsonBody } from "../util/json_request.ts";
import { logger } from "../util/log.ts";
import type { ControlEnv } from "./env.ts";
import type { NodeView, OutboundTasks } from "./ports.ts";
import { controlToken } from "./guards/control_token.ts";
import { loopbackOnly } from "./guards/loopback_only.ts";

/** What the control app needs. */
export interface ControlAppDeps {
  port: number;
  token: string;
  tokenFile: string;
  maxBodyBytes: number;
  tasks: OutboundTasks;
  node: NodeView;
}

const FAILURE_CODE: Record<Exclude<DelegateOutcome, { ok: true }>["kind"], ErrorCode> = {
  denied_locally: "denied",
  denied_by_peer: "peer_denied",
  unreachable: "peer_unreachable",
  not_cmesh: "peer_not_cmesh",
  peer_response_too_large: "peer_response_too_large",
  busy: "peer_busy",
  invalid: "invalid_request",
  conflict: "conflict",
};

/** Builds the control Hono app. Serve it on 127.0.0.1 only. */
export function createControlApp(deps: ControlAppDeps): Hono<ControlEnv> {
  const app = new Hono<ControlEnv>();
  const d = deps.tasks;
  // A wait whose answer also carries the stored result once the task is terminal: the result in
  // the same answer saves the caller a round trip once the task is done.
  const waitWithResult = async (...args: Parameters<typeof d.wait>) => {
    const w = await d.wait(...args);
    return w && { ...w, result: isTerminal(w.status.state) ? d.result(args[0]) : null };
  };
  app.use("*", loopbackOnly(deps.port));
  app.use("*", controlToken(deps.token, deps.tokenFile, deps.maxBodyBytes));

  const withId = (c: Context<ControlEnv>) => {
    const id = c.req.param("id") ?? "";
    return TaskId.safeParse(id).success ? id : null;
  };

  // Nothing but the daemon's proof (control/proof.ts): a client may check the daemon with it.
  app.get("/v1/proof", (c) => c.body(null, 204));
  app.get("/v1/status", async (c) => c.json(await deps.node.status()));
  app.get("/v1/peers", async (c) => c.json({ peers: await deps.node.peers() }));

  app.post("/v1/delegate", async (c) => {
    const waitS = c.req.query("wait_s");
    const waitMs = waitS === undefined ? null : Number(waitS) * 1000;
    if (waitMs !== null && !(waitMs >= 0 && waitMs <= 60_000)) {
      return replyError(c, "bad_request", "wait_s must be 0..60");
    }
    const until = untilTerminal(c.req.query("until"));
    if (typeof until === "string") return replyError(c, "bad_request", until);
    const body = await readJsonBody(c, DelegateBody, deps.maxBodyBytes);
    if (!body.ok) return c.json(body.body, body.status);
    const b = body.value;
    const out = await d.delegate({
      peer: b.peer,
      prompt: b.prompt,
      cwd: b.cwd,
      profile: b.profile,
      runner: b.runner,
      timeout_s: b.timeout_s,
      id: b.id,
    });
    if (out.ok && waitMs !== null) {
      // Delegate and wait in one call: the wait answer's task, events and result, at once.
      const w = await waitWithResult(out.task.id, 0, waitMs, c.req.raw.signal, until);
      return c.json({
        task: w?.status ?? out.task,
        peer: out.peer,
        events: w?.events ?? [],
        ...(w?.result ? { result: w.result } : {}),
      }, 202);
    }
    if (out.ok) return c.json({ task: out.task, peer: out.peer }, 202);
    const task = out.task ? { task: out.task } : {};
    return replyError(c, FAILURE_CODE[out.kind], out.message, out.rule, task);
  });

  app.get("/v1/tasks", (c) => {
    const state = c.req.query("state");
    if (state !== undefined && !(TASK_STATES as readonly string[]).includes(state)) {
      return replyError(c, "bad_request", `state must be one of ${TASK_STATES.join(", ")}`);
    }
    const limit = Number(c.req.query("limit") ?? "20");
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      return replyError(c, "bad_request", "limit must be 1..500");
    }
    const tasks = d.list({ state: state as never, peer: c.req.query("peer"), limit }).map((t) => ({
      ...d.status(t.id),
      peer: t.peer,
    }));
    return c.json({ tasks });
  });

  app.get("/v1/tasks/:id", (c) => {
    const id = withId(c);
    const rec = id ? d.record(id) : null;
    if (!id) return replyError(c, "bad_request", "malformed task id");
    if (!rec) {
      return replyError(
        c,
        "not_found",
        `no outbound task ${id}; list them with 'cmesh tasks list'`,
      );
    }
    return c.json({ task: { ...d.status(id), peer: rec.peer } });
  });

  app.get("/v1/tasks/:id/result", (c) => {
    const id = withId(c);
    if (!id) return replyError(c, "bad_request", "malformed task id");
    const rec = d.record(id);
    if (!rec) return replyError(c, "not_found", `no outbound task ${id}`);
    const result = d.result(id);
    if (!result) {
      const task = { task: d.status(id) };
      return replyError(
        c,
        "conflict",
        `task ${id} is ${rec.state}; no result yet (wait for it with cmesh_wait)`,
        undefined,
        task,
      );
    }
    return c.json({ result, peer: rec.peer });
  });

  app.get("/v1/tasks/:id/events", (c) => {
    const id = withId(c);
    if (!id) return replyError(c, "bad_request", "malformed task id");
    if (!d.record(id)) return replyError(c, "not_found", `no outbound task ${id}`);
    const after = Number(c.req.query("after") ?? "0");
    if (!Number.isSafeInteger(after) || after < 0) {
      return replyError(c, "bad_request", "after must be a non-negative integer");
    }
    return c.json({ events: d.events(id, after) });
  });

  app.get("/v1/tasks/:id/wait", async (c) => {
    const id = withId(c);
    if (!id) return replyError(c, "bad_request", "malformed task id");
    const after = Number(c.req.query("after") ?? "0");
    const timeoutS = Number(c.req.query("timeout_s") ?? "10");
    if (!Number.isSafeInteger(after) || after < 0) {
      return replyError(c, "bad_request", "after must be a non-negative integer");
    }
    if (!(timeoutS >= 0 && timeoutS <= 60)) {
      return replyError(c, "bad_request", "timeout_s must be 0..60");
    }
    const until = untilTerminal(c.req.query("until"));
    if (typeof until === "string") return replyError(c, "bad_request", until);
    const withParam = c.req.query("with");
    if (withParam !== undefined && withParam !== "result") {
      return replyError(c, "bad_request", 'with must be "result" (or absent)');
    }
    const out = withParam
      ? await waitWithResult(id, after, timeoutS * 1000, c.req.raw.signal, until)
      : await d.wait(id, after, timeoutS * 1000, c.req.raw.signal, until);
    if (!out) return replyError(c, "not_found", `no outbound task ${id}`);
    return c.json({
      task: { ...out.status, peer: d.record(id)!.peer },
      events: out.events,
      ...("result" in out && out.result ? { result: out.result } : {}),
    });
  });

  app.post("/v1/tasks/:id/cancel", async (c) => {
    const id = withId(c);
    if (!id) return replyError(c, "bad_request", "malformed task id");
    const out = await d.cancel(id);
    if (out.ok) return c.json({ task: out.task }, 202);
    return replyError(c, out.notFound ? "not_found" : "peer_unreachable", out.message);
  });

  app.notFound((c) =>
    replyError(c, "not_found", `no route ${c.req.method} ${new URL(c.req.url).pathname}`)
  );
  app.onError((err, c) => {
    logger("control").error("unhandled error on {path}: {error}", {
      path: c.req.path,
      error: String(err),
    });
    const storage = storageProblem(err);
    if (storage) {
      return replyError(
        c,
        "storage_unavailable",
        `the daemon cannot write its state (${storage}); nothing was recorded: free space ` +
          `in (or fix) its state dir, then retry`,
      );
    }
    return replyError(c, "internal", "internal error; see the daemon log");
  });
  return app;
}

/** A wait's `until` parameter: true for `terminal`, false when absent, else what is wrong. */
function untilTerminal(until: string | undefined): boolean | string {
  if (until === undefined || until === "terminal") return until === "terminal";
  return 'until must be "terminal" (or absent: any new event)';
}
