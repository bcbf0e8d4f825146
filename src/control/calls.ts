/**
 * @module
 * The typed calls of the loopback control API, over any transport that can GET and POST:
 * each method checks the daemon's answer against its schema in `protocol/control.ts`, so a
 * renamed field fails here with a message instead of becoming `undefined` in a caller.
 * {@link followTask} is the one loop that follows a task (CLI, demo, MCP).
 *
 * `ControlClient` (`client.ts`) is the transport over HTTP; `cmesh mcp` wraps it lazily.
 *
 * @example
 * ```ts
 * import { ControlClient } from "./client.ts";
 * const client = await ControlClient.fromConfig("/home/ann/.config/cmesh/config.toml");
 * const peers = await client.peers();
 * if (peers.ok) console.log(peers.value.peers.map((p) => p.name));
 * ```
 */
import type { z } from "../deps/zod.ts";
import {
  CancelAnswer,
  type ControlTask,
  DelegateAnswer,
  type DelegateBody,
  EventsAnswer,
  PeersAnswer,
  ResultAnswer,
  StatusAnswer,
  TaskAnswer,
  TasksAnswer,
  WaitAnswer,
} from "../protocol/control.ts";
import {
  type ApiError,
  isTerminal,
  type TaskEvent,
  type TaskResult,
  type TaskState,
} from "../protocol/task.ts";
import { issuesLine } from "../util/zod_issues.ts";

/** A failed control API call: the daemon's error, or a local failure (status 0). */
export type ControlFailure =
  | { ok: false; status: number; error: ApiError["error"] & { task?: unknown } }
  | {
    ok: false;
    status: 0;
    error: {
      code: "daemon_not_running" | "no_token" | "bad_response" | "invalid_config" | "not_cmesh";
      message: string;
    };
  };

/** A control API answer: the JSON body and HTTP status, or a failure. */
export type ControlResponse =
  | { ok: true; status: number; body: Record<string, unknown> }
  | ControlFailure;

/** A checked answer: the body as its schema in `protocol/control.ts` says, or a failure. */
export type ControlAnswer<T> = { ok: true; value: T } | ControlFailure;

/** The filter of `GET /v1/tasks`. */
export interface TasksFilter {
  state?: TaskState;
  peer?: string;
  limit: number;
}

const taskPath = (id: string, sub = "") => `/v1/tasks/${encodeURIComponent(id)}${sub}`;

/** The typed control API calls; a subclass supplies the transport (`get`, `post`). */
export abstract class ControlCalls {
  /** GET a control path. */
  abstract get(path: string, signal?: AbortSignal): Promise<ControlResponse>;
  /** POST JSON to a control path. */
  abstract post(path: string, body: unknown, signal?: AbortSignal): Promise<ControlResponse>;

  async #get<S extends z.ZodType>(path: string, schema: S, signal?: AbortSignal) {
    return checked(path, schema, await this.get(path, signal));
  }

  async #post<S extends z.ZodType>(path: string, body: unknown, schema: S, signal?: AbortSignal) {
    return checked(path, schema, await this.post(path, body, signal));
  }

  /** `GET /v1/status`. */
  status(signal?: AbortSignal): Promise<ControlAnswer<StatusAnswer>> {
    return this.#get("/v1/status", StatusAnswer, signal);
  }

  /** `GET /v1/peers`: each configured peer, online state, what it allows me. */
  peers(signal?: AbortSignal): Promise<ControlAnswer<PeersAnswer>> {
    return this.#get("/v1/peers", PeersAnswer, signal);
  }

  /**
   * `POST /v1/delegate`. With `wait`, the daemon then waits as `GET /v1/tasks/:id/wait` does
   * (from the first event; the result once terminal) before it answers: one round trip for a
   * task that ends quickly.
   */
  delegate(
    body: DelegateBody,
    signal?: AbortSignal,
    wait?: { timeoutS: number; untilTerminal?: boolean },
  ): Promise<ControlAnswer<DelegateAnswer>> {
    const q = wait ? `?wait_s=${wait.timeoutS}${wait.untilTerminal ? "&until=terminal" : ""}` : "";
    return this.#post(`/v1/delegate${q}`, body, DelegateAnswer, signal);
  }

  /** `GET /v1/tasks`: recent outbound tasks, newest first. */
  tasks(filter: TasksFilter, signal?: AbortSignal): Promise<ControlAnswer<TasksAnswer>> {
    const q = new URLSearchParams();
    if (filter.state) q.set("state", filter.state);
    if (filter.peer) q.set("peer", filter.peer);
    q.set("limit", String(filter.limit));
    return this.#get(`/v1/tasks?${q}`, TasksAnswer, signal);
  }

  /** `GET /v1/tasks/:id`. */
  task(id: string, signal?: AbortSignal): Promise<ControlAnswer<TaskAnswer>> {
    return this.#get(taskPath(id), TaskAnswer, signal);
  }

  /** `GET /v1/tasks/:id/events`: the stored events after `after`. */
  events(id: string, after = 0, signal?: AbortSignal): Promise<ControlAnswer<EventsAnswer>> {
    return this.#get(taskPath(id, `/events?after=${after}`), EventsAnswer, signal);
  }

  /**
   * `GET /v1/tasks/:id/wait`: the events after `after`, long-polling up to `timeoutS`
   * (`untilTerminal`: only the end, with every event since `after`; `withResult`: the stored
   * result too once the task is terminal).
   */
  wait(
    id: string,
    after: number,
    timeoutS: number,
    signal?: AbortSignal,
    untilTerminal = false,
    withResult = false,
  ): Promise<ControlAnswer<WaitAnswer>> {
    const q = `after=${after}&timeout_s=${timeoutS}${untilTerminal ? "&until=terminal" : ""}${
      withResult ? "&with=result" : ""
    }`;
    return this.#get(taskPath(id, `/wait?${q}`), WaitAnswer, signal);
  }

  /** `GET /v1/tasks/:id/result` (a 409 `conflict` while the task runs). */
  result(id: string, signal?: AbortSignal): Promise<ControlAnswer<ResultAnswer>> {
    return this.#get(taskPath(id, "/result"), ResultAnswer, signal);
  }

  /** `POST /v1/tasks/:id/cancel`. */
  cancel(id: string, signal?: AbortSignal): Promise<ControlAnswer<CancelAnswer>> {
    return this.#post(taskPath(id, "/cancel"), {}, CancelAnswer, signal);
  }
}

function checked<S extends z.ZodType>(
  path: string,
  schema: S,
  res: ControlResponse,
): ControlAnswer<z.infer<S>> {
  if (!res.ok) return res;
  const parsed = schema.safeParse(res.body, { reportInput: true });
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    status: 0,
    error: {
      code: "bad_response",
      message: `the daemon's answer to ${path} is not what this cmesh expects (${
        issuesLine(parsed.error.issues, 3)
      }): are the daemon and this command the same version?`,
    },
  };
}

/** How {@link followTask} follows. */
export interface FollowOptions {
  /** Events already seen (default 0: from the first). */
  after?: number;
  /** Long-poll length of each call, in seconds (default 10). */
  pollS?: number;
  /** Stop following at this time (epoch ms) even if the task is not terminal (default: never). */
  deadline?: number;
  /** Ask only for the end (one long poll instead of one per event) when nobody shows progress. */
  untilTerminal?: boolean;
  /**
   * An answer already in hand (a delegate call that waited: {@link ControlCalls.delegate}),
   * taken as the first long poll's.
   */
  first?: WaitAnswer;
  /** Each new event, in order. */
  onEvent?: (ev: TaskEvent) => void;
  /** The task after each answer (also the last, terminal one); awaited. */
  onStatus?: (task: ControlTask) => void | Promise<void>;
  signal?: AbortSignal;
}

/** Where {@link followTask} stopped: the task as last seen, and its stored result once terminal. */
export interface FollowEnd {
  task: ControlTask;
  /** Carried by the terminal wait answer (or asked for, from an older daemon); null before. */
  result: TaskResult | null;
}

/**
 * Follows an outbound task through the control API's long poll until it is terminal, the
 * deadline passes or `signal` aborts: the one wait loop the CLI, the demo and `cmesh mcp`
 * share. Returns the task as last seen (terminal unless stopped early) with its stored result
 * (the terminal answer carries it: `with=result`), or the first failure.
 *
 * @example
 * ```ts
 * import { ControlClient } from "./client.ts";
 * const client = await ControlClient.fromConfig("/home/ann/.config/cmesh/config.toml");
 * const end = await followTask(client, "t_0123456789", { onEvent: (ev) => console.log(ev.text) });
 * if (end.ok) console.log(end.value.task.state, end.value.result?.claims.final_text);
 * ```
 */
export async function followTask(
  control: ControlCalls,
  id: string,
  opts: FollowOptions = {},
): Promise<ControlAnswer<FollowEnd>> {
  const pollS = opts.pollS ?? 10;
  const deadline = opts.deadline ?? Number.POSITIVE_INFINITY;
  let after = opts.after ?? 0;
  let task: ControlTask | null = null;
  let result: TaskResult | null = null;
  const end = async (task: ControlTask): Promise<ControlAnswer<FollowEnd>> => {
    if (isTerminal(task.state) && result === null) {
      // An older daemon does not send it along: ask.
      const r = await control.result(task.id, opts.signal).catch(() => null);
      result = r?.ok ? r.value.result : null;
    }
    return { ok: true, value: { task, result: isTerminal(task.state) ? result : null } };
  };
  // One long poll; "aborted" when the caller gave up in the middle of it after seeing the task.
  const poll = async (timeoutS: number): Promise<ControlAnswer<WaitAnswer> | "aborted"> => {
    try {
      return await control.wait(id, after, timeoutS, opts.signal, opts.untilTerminal, true);
    } catch (e) {
      if (opts.signal?.aborted && task) return "aborted";
      throw e;
    }
  };
  for (let first = opts.first;;) {
    const leftS = Math.max(0, (deadline - Date.now()) / 1000);
    const w = first ? { ok: true as const, value: first } : await poll(
      Number(Math.min(pollS, leftS).toFixed(1)),
    );
    first = undefined;
    // The caller gave up mid-poll: what was seen so far is the answer.
    if (w === "aborted") return { ok: true, value: { task: task!, result: null } };
    if (!w.ok) return w;
    for (const ev of w.value.events) {
      if (ev.seq <= after) continue;
      after = ev.seq;
      opts.onEvent?.(ev);
    }
    task = w.value.task;
    if (w.value.result) result = w.value.result;
    await opts.onStatus?.(task);
    if (isTerminal(task.state) || Date.now() >= deadline || opts.signal?.aborted) {
      return await end(task);
    }
  }
}
