/**
 * @module
 * The client `cmesh mcp` and the CLI use to talk to the local daemon's control API. It finds
 * the port and token from the config and state dir, and turns "daemon not running" into a
 * message that says how to start it.
 *
 * The typed methods (`task`, `wait`, `result`) check the answer against its schema in
 * `protocol/control.ts`; {@link followTask} is the one loop that follows a task to its end.
 *
 * @example
 * ```ts
 * const client = await ControlClient.fromConfig("/home/ann/.config/cmesh/config.toml");
 * const res = await client.get("/v1/status");
 * const end = await followTask(client, "t_0123456789", { onEvent: (ev) => console.log(ev.text) });
 * if (end.ok) console.log(end.value.state);
 * ```
 */
import type { z } from "zod";
import { loadConfig } from "../config/load.ts";
import { stateDirFor } from "../config/paths.ts";
import { type ControlTask, ResultAnswer, TaskAnswer, WaitAnswer } from "../protocol/control.ts";
import { isTerminal, type TaskEvent } from "../protocol/task.ts";
import type { ApiError } from "../protocol/task.ts";
import { issuesLine } from "../util/zod_issues.ts";
import { controlTokenPath, readControlToken } from "./token.ts";

/** A failed control API call: the daemon's error, or a local failure (status 0). */
export type ControlFailure =
  | { ok: false; status: number; error: ApiError["error"] & { task?: unknown } }
  | {
    ok: false;
    status: 0;
    error: { code: "daemon_not_running" | "no_token" | "bad_response"; message: string };
  };

/** A control API answer: the JSON body and HTTP status, or a failure. */
export type ControlResponse =
  | { ok: true; status: number; body: Record<string, unknown> }
  | ControlFailure;

/** A checked answer: the body as its schema in `protocol/control.ts` says, or a failure. */
export type ControlAnswer<T> = { ok: true; value: T } | ControlFailure;

/** How to reach the daemon. */
export interface ControlEndpoint {
  port: number;
  token: string | null;
  tokenFile: string;
  configFile: string;
}

/** The message an agent or human gets when the daemon is down. */
export function daemonNotRunningMessage(ep: Pick<ControlEndpoint, "port" | "configFile">): string {
  return `the cmesh daemon is not running (nothing answers on 127.0.0.1:${ep.port}). ` +
    `Start it with 'cmesh daemon' (or 'cmesh service install' to keep it running), using config ${ep.configFile}`;
}

/** A client for the loopback control API. */
export class ControlClient {
  constructor(readonly endpoint: ControlEndpoint) {}

  /** Builds a client from a config file (port) and its state dir (token). */
  static async fromConfig(configFile: string): Promise<ControlClient> {
    const { config } = await loadConfig(configFile);
    const stateDir = stateDirFor(config);
    let token: string | null = null;
    try {
      token = await readControlToken(stateDir);
    } catch (e) {
      // A missing file is reported on the first call; a file others can read is refused now.
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return new ControlClient({
      port: config.daemon.control_port,
      token,
      tokenFile: controlTokenPath(stateDir),
      configFile,
    });
  }

  /** GET a control path. */
  get(path: string, signal?: AbortSignal): Promise<ControlResponse> {
    return this.#call("GET", path, undefined, signal);
  }

  /** POST JSON to a control path. */
  post(path: string, body: unknown, signal?: AbortSignal): Promise<ControlResponse> {
    return this.#call("POST", path, body, signal);
  }

  /** `GET /v1/tasks/:id`, checked. */
  async task(id: string): Promise<ControlAnswer<TaskAnswer>> {
    const path = `/v1/tasks/${encodeURIComponent(id)}`;
    return checked(path, TaskAnswer, await this.get(path));
  }

  /** `GET /v1/tasks/:id/wait`: the events after `after`, long-polling up to `timeoutS`. */
  async wait(
    id: string,
    after: number,
    timeoutS: number,
    signal?: AbortSignal,
  ): Promise<ControlAnswer<WaitAnswer>> {
    const path = `/v1/tasks/${encodeURIComponent(id)}/wait?after=${after}&timeout_s=${timeoutS}`;
    return checked(path, WaitAnswer, await this.get(path, signal));
  }

  /** `GET /v1/tasks/:id/result`, checked (a 409 `conflict` while the task runs). */
  async result(id: string): Promise<ControlAnswer<ResultAnswer>> {
    const path = `/v1/tasks/${encodeURIComponent(id)}/result`;
    return checked(path, ResultAnswer, await this.get(path));
  }

  async #call(
    method: string,
    path: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<ControlResponse> {
    const ep = this.endpoint;
    if (ep.token === null) {
      return {
        ok: false,
        status: 0,
        error: {
          code: "no_token",
          message:
            `no control token at ${ep.tokenFile}: the daemon has never started with this state dir. ${
              daemonNotRunningMessage(ep)
            }`,
        },
      };
    }
    let res: Response;
    try {
      res = await fetch(`http://127.0.0.1:${ep.port}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ep.token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      return {
        ok: false,
        status: 0,
        error: { code: "daemon_not_running", message: daemonNotRunningMessage(ep) },
      };
    }
    const json = await res.json().catch(() => ({})) as Record<string, unknown>;
    if (res.ok) return { ok: true, status: res.status, body: json };
    const err =
      (json.error ?? { code: "internal", message: `HTTP ${res.status}` }) as ApiError["error"];
    return {
      ok: false,
      status: res.status,
      error: { ...err, ...(json.task ? { task: json.task } : {}) },
    };
  }
}

function checked<S extends z.ZodType>(
  path: string,
  schema: S,
  res: ControlResponse,
): ControlAnswer<z.infer<S>> {
  if (!res.ok) return res;
  const parsed = schema.safeParse(res.body);
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

/** How {@link followTask} reports progress. */
export interface FollowOptions {
  /** Events already seen (default 0: from the first). */
  after?: number;
  /** Long-poll length of each call, in seconds (default 10). */
  pollS?: number;
  /** Each new event, in order. */
  onEvent?: (ev: TaskEvent) => void;
  /** The task after each answer (also the last, terminal one). */
  onStatus?: (task: ControlTask) => void;
  signal?: AbortSignal;
}

/**
 * Follows an outbound task until it is terminal, through the control API's long poll: the one
 * wait loop the CLI and the demo share. Returns the terminal status, or the first failure.
 *
 * @example
 * ```ts
 * const client = await ControlClient.fromConfig("/home/ann/.config/cmesh/config.toml");
 * const end = await followTask(client, "t_0123456789", { onEvent: (ev) => console.log(ev.text) });
 * ```
 */
export async function followTask(
  client: ControlClient,
  id: string,
  opts: FollowOptions = {},
): Promise<ControlAnswer<ControlTask>> {
  let after = opts.after ?? 0;
  for (;;) {
    const w = await client.wait(id, after, opts.pollS ?? 10, opts.signal);
    if (!w.ok) return w;
    for (const ev of w.value.events) {
      after = ev.seq;
      opts.onEvent?.(ev);
    }
    opts.onStatus?.(w.value.task);
    if (isTerminal(w.value.task.state)) return { ok: true, value: w.value.task };
  }
}
