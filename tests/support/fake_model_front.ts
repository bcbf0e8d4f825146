/**
 * @module
 * A front for the scripted fake model server (`fake_model/server.ts`) with the two things the
 * tests of **real MCP clients** (`tests/mcp_clients/`) need on top of it. It listens itself,
 * forwards every request to a private fake model server, and logs each request exactly as the
 * CLI sent it.
 *
 * 1. **Captures**: values taken from each request before it is answered, usable as
 *    `{{name}}` placeholders in the answer. A requesting agent's second tool call needs the
 *    task id that `cmesh_delegate` returned in the first (`cmesh_result {task_id}`); the
 *    stateless fake server cannot know it, so the front finds it in the request text (the
 *    newest match of a regular expression, group 1) and fills it into the script. An unknown
 *    or not-yet-captured placeholder stays as it is.
 * 2. **Responses API shapes codex 0.171 needs for MCP tools** (the Anthropic side passes
 *    unchanged: Claude Code calls MCP tools by their flat name `mcp__cmesh__cmesh_delegate`):
 *    - codex offers an MCP server's tools as a `namespace` tool (`mcp__cmesh`) holding plain
 *      function tools (`cmesh_delegate`), and only accepts a call that names both. A script
 *      call named `mcp__<server>__<tool>` goes out as a `function_call` with
 *      `namespace: "mcp__<server>"` and `name: "<tool>"`;
 *    - with a model codex knows (`gpt-5.5`), MCP tools are deferred behind its client-side
 *      `tool_search` tool. A script call named `tool_search` goes out as a `tool_search_call`
 *      item (`execution: "client"`, `arguments` an object), and the `tool_search_call` /
 *      `tool_search_output` items codex sends back are shown to the fake server as a
 *      `function_call` / `function_call_output` pair (so its turn counting and
 *      `{{last_tool_result}}` work; the output is the JSON of the tools found). The front's own
 *      log keeps the request as codex sent it.
 *
 * Run as a program (for a network namespace), it prints
 * `{"listening":"http://127.0.0.1:PORT","port":PORT}` and serves until SIGTERM/SIGINT:
 *
 * ```sh
 * deno run -A tests/support/fake_model_front.ts --script tests/testdata/fake_model/mcp_client_requester.json \
 *   --var peer=server --capture 'task_id=task_id\W{1,8}(t[A-Za-z0-9_-]{7,63})' --log front.jsonl
 * ```
 *
 * @example
 * ```ts
 * import { startFakeModelFront } from "./fake_model_front.ts";
 * const front = await startFakeModelFront({
 *   scriptFile: "tests/testdata/fake_model/mcp_client_requester.json",
 *   vars: { peer: "server", cwd: "/srv/app", runner: "claude" },
 *   captures: { task_id: /task_id\W{1,8}(t[A-Za-z0-9_-]{7,63})/g },
 * });
 * // ANTHROPIC_BASE_URL = front.url; codex base_url = `${front.url}/v1`
 * await front.close();
 * ```
 */
import { parseArgs } from "node:util";
import { type FakeModel, startFakeModel } from "./fake_model/server.ts";
import {
  announceUntilSignal,
  jsonResponse,
  keyValuePairs,
  listenLocal,
  PROGRAM_OPTIONS,
  readRequestBody,
  requireScript,
} from "./fake_model/http.ts";
import { isJsonObject as isObj, validateScript } from "./fake_model/script.ts";

/** One request as the CLI sent it (before any rewriting). */
export interface FrontLoggedRequest {
  /** 1, 2, 3, … in arrival order. */
  seq: number;
  /** Milliseconds since the front started. */
  t_ms: number;
  method: string;
  /** Path with the query string. */
  path: string;
  /** The parsed JSON body, the raw text when it is not JSON, or null. */
  body: unknown;
  /** The captured values this request was answered with. */
  captured: Record<string, string>;
  /** The HTTP status the fake server answered. */
  status: number;
}

/** Options of {@link startFakeModelFront}. */
export interface FakeModelFrontOptions {
  /** The script file (re-read on every request). */
  scriptFile: string | URL;
  /** Fixed `{{name}}` values (handed to the fake server). */
  vars?: Record<string, string>;
  /** Placeholder name → a regular expression whose group 1 is the value (newest match wins). */
  captures?: Record<string, RegExp>;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Append each request as the CLI sent it, one JSON line each. */
  logFile?: string;
  /** Passed on as the fake server's own log file (requests after rewriting). */
  backendLogFile?: string;
}

/** A running front. */
export interface FakeModelFront {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** Every request so far, as sent by the CLI (live array). */
  readonly requests: readonly FrontLoggedRequest[];
  /** The fake server behind the front. */
  backend: FakeModel;
  /** Stops the front and the fake server. */
  close(): Promise<void>;
}

/**
 * The value of every capture in `text`: group 1 of the newest (last) match; names without a
 * match are left out.
 *
 * @example
 * ```ts
 * captureValues('{"task_id":"ta1b2c3d4"} … {"task_id":"tz9y8x7w6"}', { task_id: /task_id\W+(t\w+)/g });
 * // { task_id: "tz9y8x7w6" }
 * ```
 */
export function captureValues(
  text: string,
  captures: Readonly<Record<string, RegExp>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, re] of Object.entries(captures)) {
    const global = new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`);
    let last: string | undefined;
    for (const m of text.matchAll(global)) if (m[1] !== undefined) last = m[1];
    if (last !== undefined) out[name] = last;
  }
  return out;
}

/**
 * Fills `{{name}}` placeholders of a script's JSON text with captured values (JSON-escaped, so
 * any value keeps the document valid). Other placeholders are left for the fake server.
 */
export function fillCaptures(scriptJson: string, values: Readonly<Record<string, string>>): string {
  return scriptJson.replace(
    /\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}/g,
    (whole, name: string) =>
      Object.hasOwn(values, name) ? JSON.stringify(values[name]).slice(1, -1) : whole,
  );
}

/**
 * Splits codex's qualified MCP tool name `mcp__<server>__<tool>` into its namespace and tool
 * name; null for any other name.
 *
 * @example
 * ```ts
 * splitMcpName("mcp__cmesh__cmesh_delegate"); // { namespace: "mcp__cmesh", name: "cmesh_delegate" }
 * splitMcpName("exec_command"); // null
 * ```
 */
export function splitMcpName(qualified: string): { namespace: string; name: string } | null {
  const m = /^(mcp__[A-Za-z0-9_-]+?)__([A-Za-z0-9_-]+)$/.exec(qualified);
  return m ? { namespace: m[1], name: m[2] } : null;
}

/** Rewrites one Responses output item the fake server made into the shape codex expects. */
export function rewriteOutputItem(item: unknown): unknown {
  if (!isObj(item) || item.type !== "function_call" || typeof item.name !== "string") return item;
  if (item.name === "tool_search") {
    let args: unknown = {};
    try {
      args = JSON.parse(String(item.arguments ?? "{}"));
    } catch { /* keep {} */ }
    return {
      id: item.id,
      type: "tool_search_call",
      status: item.status,
      call_id: item.call_id,
      execution: "client",
      arguments: args,
    };
  }
  const split = splitMcpName(item.name);
  return split ? { ...item, namespace: split.namespace, name: split.name } : item;
}

/** Rewrites the items inside one Responses SSE event's data. */
export function rewriteResponsesEvent(data: unknown): unknown {
  if (!isObj(data)) return data;
  if ("item" in data) return { ...data, item: rewriteOutputItem(data.item) };
  if (isObj(data.response) && Array.isArray(data.response.output)) {
    return {
      ...data,
      response: { ...data.response, output: data.response.output.map(rewriteOutputItem) },
    };
  }
  return data;
}

/**
 * The request body as the fake server should see it: codex's `tool_search_call` /
 * `tool_search_output` become a `function_call` / `function_call_output` pair (the fake server
 * counts turns and reads tool results from those).
 */
export function normalizeResponsesRequest(body: unknown): unknown {
  if (!isObj(body) || !Array.isArray(body.input)) return body;
  const input = body.input.map((raw) => {
    if (!isObj(raw)) return raw;
    if (raw.type === "tool_search_call") {
      return {
        type: "function_call",
        id: raw.id,
        call_id: raw.call_id,
        name: "tool_search",
        arguments: JSON.stringify(raw.arguments ?? {}),
        status: raw.status,
      };
    }
    if (raw.type === "tool_search_output") {
      return {
        type: "function_call_output",
        call_id: raw.call_id,
        output: JSON.stringify(raw.tools ?? []),
      };
    }
    return raw;
  });
  return { ...body, input };
}

/** A stream transform that rewrites the `data:` JSON of every SSE event with `rewrite`. */
function rewriteSse(rewrite: (data: unknown) => unknown): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = "";
  const emit = (block: string, controller: TransformStreamDefaultController<Uint8Array>) => {
    const lines = block.split("\n").map((line) => {
      if (!line.startsWith("data: ")) return line;
      try {
        return `data: ${JSON.stringify(rewrite(JSON.parse(line.slice(6))))}`;
      } catch {
        return line;
      }
    });
    controller.enqueue(encoder.encode(`${lines.join("\n")}\n\n`));
  };
  return new TransformStream({
    transform(chunk, controller) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        emit(buffer.slice(0, end), controller);
        buffer = buffer.slice(end + 2);
      }
    },
    flush(controller) {
      if (buffer.trim() !== "") emit(buffer, controller);
    },
  });
}

/** Request headers not passed on (hop-by-hop, and compression the front would have to undo). */
const DROPPED_REQUEST_HEADERS = ["host", "content-length", "connection", "accept-encoding"];
/** Response headers not passed back (the body is re-streamed, possibly rewritten). */
const DROPPED_RESPONSE_HEADERS = ["content-length", "content-encoding", "transfer-encoding"];

/**
 * Starts a fake model server behind a front that adds captures and codex's MCP shapes.
 *
 * @example
 * ```ts
 * const front = await startFakeModelFront({ scriptFile: "s.json", captures: { id: /id=(\w+)/g } });
 * await front.close();
 * ```
 */
export async function startFakeModelFront(opts: FakeModelFrontOptions): Promise<FakeModelFront> {
  const readScript = () => Deno.readTextFile(opts.scriptFile);
  // Fails early on a bad script, as the fake server would on the first request.
  validateScript(JSON.parse(await readScript()), String(opts.scriptFile));
  const backend = await startFakeModel({
    script: opts.scriptFile,
    vars: opts.vars,
    logFile: opts.backendLogFile,
  });
  const requests: FrontLoggedRequest[] = [];
  const started = performance.now();
  let seq = 0;
  // One request at a time: the script is swapped per request, and the fake server reads it
  // when the request arrives (before its answer's headers).
  let queue: Promise<unknown> = Promise.resolve();

  const forward = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const { text, body } = await readRequestBody(req);
    const isResponses = req.method === "POST" && url.pathname.replace(/\/+$/, "").endsWith(
      "/responses",
    );
    const captured = captureValues(text, opts.captures ?? {});
    const scriptText = await readScript();
    backend.setScript(validateScript(JSON.parse(fillCaptures(scriptText, captured))));
    const headers = new Headers(req.headers);
    for (const h of DROPPED_REQUEST_HEADERS) headers.delete(h);
    const forwardedBody = text === ""
      ? undefined
      : isResponses && typeof body === "object"
      ? JSON.stringify(normalizeResponsesRequest(body))
      : text;
    const answer = await fetch(`${backend.url}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      body: forwardedBody,
    });
    const entry: FrontLoggedRequest = {
      seq: ++seq,
      t_ms: Math.round(performance.now() - started),
      method: req.method,
      path: url.pathname + url.search,
      body,
      captured,
      status: answer.status,
    };
    requests.push(entry);
    if (opts.logFile) {
      await Deno.writeTextFile(opts.logFile, JSON.stringify(entry) + "\n", { append: true });
    }
    const outHeaders = new Headers(answer.headers);
    for (const h of DROPPED_RESPONSE_HEADERS) outHeaders.delete(h);
    const sse = (answer.headers.get("content-type") ?? "").startsWith("text/event-stream");
    const outBody = isResponses && sse && answer.body
      ? answer.body.pipeThrough(rewriteSse(rewriteResponsesEvent))
      : answer.body;
    return new Response(outBody, { status: answer.status, headers: outHeaders });
  };

  const handle = (req: Request): Promise<Response> => {
    const turn = queue.then(() => forward(req));
    queue = turn.catch(() => {});
    return turn.catch((e) => jsonResponse(502, { error: { message: `fake model front: ${e}` } }));
  };

  const { server, url, port } = await listenLocal(opts, handle);
  return {
    url,
    port,
    requests,
    backend,
    close: async () => {
      await server.shutdown();
      await backend.close();
    },
  };
}

if (import.meta.main) {
  const { values: args } = parseArgs({
    args: Deno.args,
    options: {
      ...PROGRAM_OPTIONS,
      "backend-log": { type: "string" },
      capture: { type: "string", multiple: true, default: [] },
    },
  });
  const scriptFile = requireScript(
    args.script,
    "fake_model_front.ts --script FILE [--var k=v]... [--capture name=REGEX]... " +
      "[--log FILE] [--backend-log FILE] [--host H] [--port N]",
  );
  const front = await startFakeModelFront({
    scriptFile,
    vars: Object.fromEntries(keyValuePairs(args.var ?? [])),
    captures: Object.fromEntries(
      keyValuePairs(args.capture ?? []).map(([k, v]) => [k, new RegExp(v, "g")]),
    ),
    host: args.host,
    port: Number(args.port),
    logFile: args.log,
    backendLogFile: args["backend-log"],
  });
  announceUntilSignal(front);
}
