/**
 * @module
 * A scripted fake model API server for tests: the Anthropic Messages API (Claude Code) and the
 * OpenAI Responses API (Codex with a custom provider) on 127.0.0.1, port 0 by default. Every
 * request is logged (method, path, headers with credentials redacted, parsed body, the API
 * and turn it was answered as, the status sent) so tests can assert what a CLI sent. Scripts:
 * see `script.ts`; standalone use: `main.ts`.
 *
 * | Request                          | Answer                                                  |
 * | -------------------------------- | ------------------------------------------------------- |
 * | `HEAD` (any path)                 | 200 (Claude Code's preconnect)                          |
 * | `POST …/v1/messages[?beta=true]` | Anthropic message, SSE when `stream: true`              |
 * | `POST …/v1/messages/count_tokens`| `{input_tokens: 100}`                                   |
 * | `POST …/responses`               | OpenAI Responses SSE                                    |
 * | `GET …/models`                   | an empty model list                                     |
 * | anything else                    | 404 JSON                                                |
 *
 * @example
 * ```ts
 * import { startFakeModel } from "./server.ts";
 * const fake = await startFakeModel({ script: { turns: [{ text: "hello" }] } });
 * // ANTHROPIC_BASE_URL = fake.url; codex base_url = `${fake.url}/v1`
 * await fake.close();
 * ```
 */
import { anthropicErrorBody, planAnthropic, type SseEvent } from "./anthropic.ts";
import { openaiErrorBody, planOpenAI } from "./openai.ts";
import { jsonResponse as json, listenLocal, readRequestBody } from "./http.ts";
import {
  type Api,
  asJsonObject,
  type FakeModelScript,
  loadScriptFile,
  validateScript,
} from "./script.ts";

/** One logged request. */
export interface LoggedRequest {
  /** 1, 2, 3, … in arrival order. */
  seq: number;
  /** Milliseconds since the server started. */
  t_ms: number;
  time: string;
  method: string;
  /** Path with the query string, e.g. `/v1/messages?beta=true`. */
  path: string;
  /** Request headers, lower-case names; `x-api-key`/`authorization` values redacted. */
  headers: Record<string, string>;
  /** Which credential header was present (its value is never logged). */
  auth: "x-api-key" | "bearer" | null;
  /** The parsed JSON body, the raw text when it is not JSON, or null. */
  body: unknown;
  /** `anthropic`, `openai`, or `other`. */
  api: Api | "other";
  /** The scripted turn played (null for non-model requests). */
  turn: number | null;
  /** The HTTP status answered (null while a hang is pending). */
  status: number | null;
}

/** Options of {@link startFakeModel}. */
export interface FakeModelOptions {
  /** A script object, or the path of a script file (re-read on every request). */
  script: FakeModelScript | string | URL;
  /** Values for `{{name}}` placeholders (e.g. `{ workdir: "/var/tmp/x/work" }`). */
  vars?: Record<string, string>;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Also append each logged request as one JSON line to this file. */
  logFile?: string;
}

/** A running fake model server. */
export interface FakeModel {
  /** `http://127.0.0.1:PORT` (no path: Claude appends `/v1/messages`, codex wants `/v1`). */
  url: string;
  port: number;
  /** Every request so far, in order (live array). */
  readonly requests: readonly LoggedRequest[];
  /** Requests answered as one API. */
  requestsFor(api: Api): LoggedRequest[];
  /** Replaces the script (for later requests). */
  setScript(script: FakeModelScript | string | URL): void;
  /** Resolves with the first logged request matching `pred`; rejects after `timeoutMs`. */
  waitFor(pred: (r: LoggedRequest) => boolean, timeoutMs: number): Promise<LoggedRequest>;
  /** Releases hanging requests and stops the server. */
  close(): Promise<void>;
}

const REDACTED = new Set(["x-api-key", "authorization"]);

function encodeSse(e: SseEvent): Uint8Array {
  return new TextEncoder().encode(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

function sseResponse(events: SseEvent[], chunkDelayMs: number, signal: AbortSignal): Response {
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i >= events.length || signal.aborted) return controller.close();
      if (i > 0 && chunkDelayMs > 0) await sleep(chunkDelayMs, signal);
      controller.enqueue(encodeSse(events[i++]));
    },
  });
  return new Response(stream, {
    status: 200,
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

/**
 * Starts a fake model server.
 *
 * @example
 * ```ts
 * const fake = await startFakeModel({
 *   script: new URL("../../testdata/fake_model/read_write_shell.json", import.meta.url),
 *   vars: { workdir: "/var/tmp/w" },
 * });
 * ```
 */
export async function startFakeModel(opts: FakeModelOptions): Promise<FakeModel> {
  let scriptSource = opts.script;
  const vars = opts.vars ?? {};
  const requests: LoggedRequest[] = [];
  const waiters: { pred: (r: LoggedRequest) => boolean; resolve: (r: LoggedRequest) => void }[] =
    [];
  const closing = new AbortController();
  const started = performance.now();
  let seq = 0;

  const currentScript = async (): Promise<FakeModelScript> => {
    if (typeof scriptSource === "string" || scriptSource instanceof URL) {
      return await loadScriptFile(scriptSource);
    }
    return validateScript(scriptSource);
  };

  const log = async (entry: LoggedRequest) => {
    requests.push(entry);
    if (opts.logFile) {
      await Deno.writeTextFile(opts.logFile, JSON.stringify(entry) + "\n", { append: true });
    }
    for (const w of [...waiters]) {
      if (w.pred(entry)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(entry);
      }
    }
  };

  const handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const headers: Record<string, string> = {};
    let auth: LoggedRequest["auth"] = null;
    req.headers.forEach((value, name) => {
      if (name === "x-api-key") auth = "x-api-key";
      if (name === "authorization" && /^bearer /i.test(value)) auth = "bearer";
      headers[name] = REDACTED.has(name) ? "[redacted]" : value;
    });
    const { body } = await readRequestBody(req);
    const entry: LoggedRequest = {
      seq: ++seq,
      t_ms: Math.round(performance.now() - started),
      time: new Date().toISOString(),
      method: req.method,
      path: url.pathname + url.search,
      headers,
      auth,
      body,
      api: "other",
      turn: null,
      status: null,
    };
    const path = url.pathname.replace(/\/+$/, "");
    const bodyObj = asJsonObject(body);

    if (req.method === "HEAD") {
      entry.status = 200;
      await log(entry);
      return new Response(null, { status: 200 });
    }
    if (req.method === "GET" && path.endsWith("/models")) {
      entry.status = 200;
      await log(entry);
      return json(200, { object: "list", data: [], models: [] });
    }
    if (req.method === "POST" && path.endsWith("/v1/messages/count_tokens")) {
      entry.status = 200;
      await log(entry);
      return json(200, { input_tokens: 100 });
    }
    const api: Api | null = req.method !== "POST"
      ? null
      : path.endsWith("/v1/messages")
      ? "anthropic"
      : path.endsWith("/responses")
      ? "openai"
      : null;
    if (api === null) {
      entry.status = 404;
      await log(entry);
      return json(404, { error: { message: `fake model: no route for ${req.method} ${path}` } });
    }

    entry.api = api;
    let script: FakeModelScript;
    try {
      script = await currentScript();
    } catch (e) {
      entry.status = 500;
      await log(entry);
      return json(500, { error: { message: `fake model: bad script: ${(e as Error).message}` } });
    }
    const plan = api === "anthropic"
      ? planAnthropic(bodyObj, script, vars)
      : planOpenAI(bodyObj, script, vars);
    entry.turn = plan.turn;
    const turn = plan.scripted;
    // Released when the server closes. (Not `req.signal`: in Deno 2 it also aborts after a
    // successful response, with a warning, and a stream's cancel() covers a client leaving.)
    const gone = closing.signal;

    if (turn.hang) {
      await log(entry);
      await sleep(2 ** 31 - 1, gone);
      entry.status = 503;
      return json(503, { error: { message: "fake model: hang released" } });
    }
    if (turn.delay_ms) await sleep(turn.delay_ms, gone);
    if (turn.http_status !== undefined && turn.http_status !== 200) {
      entry.status = turn.http_status;
      await log(entry);
      const errorBody = turn.error_body ??
        (api === "anthropic"
          ? anthropicErrorBody(turn.http_status)
          : openaiErrorBody(turn.http_status));
      return json(turn.http_status, errorBody);
    }
    entry.status = 200;
    await log(entry);
    if (api === "anthropic" && bodyObj.stream !== true && "message" in plan) {
      return json(200, plan.message);
    }
    return sseResponse(plan.events, turn.chunk_delay_ms ?? 0, gone);
  };

  const { server, url, port } = await listenLocal(opts, handle);
  return {
    url,
    port,
    requests,
    requestsFor: (api) => requests.filter((r) => r.api === api),
    setScript: (s) => {
      scriptSource = s;
    },
    waitFor: (pred, timeoutMs) => {
      const found = requests.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`fake model: no matching request within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = {
          pred,
          resolve: (r: LoggedRequest) => {
            clearTimeout(timer);
            resolve(r);
          },
        };
        waiters.push(waiter);
      });
    },
    close: async () => {
      closing.abort();
      await server.shutdown();
    },
  };
}
