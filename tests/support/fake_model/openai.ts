/**
 * @module
 * The OpenAI Responses API as codex 0.171 uses it with a custom provider: `POST
 * {base_url}/responses` with `stream: true`, answered with SSE (`response.created`,
 * `response.in_progress`, per output item `response.output_item.added` … `.done`, text deltas,
 * `response.completed` with usage). Tool calls are `function_call` items (`arguments` is a JSON
 * string, e.g. `exec_command`) or `custom_tool_call` items (freeform `input`, e.g.
 * `apply_patch`). Pure: a request body in, the events out.
 */
import type { SseEvent } from "./anthropic.ts";
import {
  asJsonObject as obj,
  type FakeModelScript,
  fillText,
  fillValue,
  type RequestHistory,
  type ScriptTurn,
  toolCallId,
  turnContext,
} from "./script.ts";

/** What to answer to one Responses request. */
export interface OpenAIPlan {
  turn: number;
  scripted: ScriptTurn;
  toolResults: string[];
  events: SseEvent[];
}

const MODEL_ITEM_TYPES = new Set([
  "function_call",
  "custom_tool_call",
  "reasoning",
  "local_shell_call",
  "web_search_call",
]);

function outputText(output: unknown): string {
  if (typeof output === "string") return output;
  if (Array.isArray(output)) {
    return output.map((b) => {
      const t = obj(b).text;
      return typeof t === "string" ? t : "";
    }).join("\n");
  }
  const content = obj(output).content;
  return typeof content === "string" ? content : "";
}

/** Tool outputs (in order), the call ids, and the number of model turns in `input`. */
export function readHistory(body: Record<string, unknown>): RequestHistory {
  const toolResults: string[] = [];
  const callIds: string[] = [];
  let modelTurns = 0;
  let inModelRun = false;
  const input = Array.isArray(body.input) ? body.input : [];
  for (const raw of input) {
    const item = obj(raw);
    const isModel = MODEL_ITEM_TYPES.has(String(item.type)) ||
      (item.type === "message" && item.role === "assistant");
    if (isModel && !inModelRun) modelTurns++;
    // Tool outputs between the calls of one answer do not end the model's run.
    if (isModel) inModelRun = true;
    else if (item.type === "message") inModelRun = false;
    if (typeof item.call_id === "string" && MODEL_ITEM_TYPES.has(String(item.type))) {
      callIds.push(item.call_id);
    }
    if (item.type === "function_call_output" || item.type === "custom_tool_call_output") {
      toolResults.push(outputText(item.output));
    }
  }
  return { toolResults, callIds, modelTurns };
}

/**
 * Plans the answer to one Responses request.
 *
 * @example
 * ```ts
 * const plan = planOpenAI({ model: "gpt-5.5", input: [] }, { turns: [{ text: "hi" }] }, {});
 * plan.events.at(-1)?.event; // "response.completed"
 * ```
 */
export function planOpenAI(
  body: Record<string, unknown>,
  script: FakeModelScript,
  vars: Readonly<Record<string, string>>,
): OpenAIPlan {
  const history = readHistory(body);
  const ctx = turnContext("openai", body, history, script, vars);
  const { turn, scripted, placeholders: p, model, inputTokens, outputTokens } = ctx;
  const items: Record<string, unknown>[] = [];
  if (scripted.text !== undefined) {
    items.push({
      id: `msg_t${turn}`,
      type: "message",
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text: fillText(scripted.text, p), annotations: [] }],
    });
  }
  (scripted.tool_calls ?? []).forEach((call, n) => {
    const callId = toolCallId("call", turn, n);
    const input = fillValue(call.input ?? {}, p);
    if (call.type === "custom") {
      items.push({
        id: toolCallId("ctc", turn, n),
        type: "custom_tool_call",
        status: "completed",
        call_id: callId,
        name: call.name,
        input: typeof input === "string" ? input : JSON.stringify(input),
      });
    } else {
      items.push({
        id: toolCallId("fc", turn, n),
        type: "function_call",
        status: "completed",
        call_id: callId,
        name: call.name,
        arguments: typeof input === "string" ? input : JSON.stringify(input),
      });
    }
  });
  const responseId = `resp_fake_t${turn}_${crypto.randomUUID().slice(0, 8)}`;
  const base = {
    id: responseId,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    model,
    output: [] as unknown[],
  };
  let seq = 0;
  const ev = (type: string, fields: Record<string, unknown>): SseEvent => ({
    event: type,
    data: { type, sequence_number: seq++, ...fields },
  });
  const events: SseEvent[] = [
    ev("response.created", { response: { ...base, status: "in_progress" } }),
    ev("response.in_progress", { response: { ...base, status: "in_progress" } }),
  ];
  items.forEach((item, outputIndex) => {
    if (item.type === "message") {
      const text = (item.content as { text: string }[])[0].text;
      events.push(ev("response.output_item.added", {
        output_index: outputIndex,
        item: { ...item, status: "in_progress", content: [] },
      }));
      const part = { type: "output_text", text: "", annotations: [] };
      const at = { item_id: item.id, output_index: outputIndex, content_index: 0 };
      events.push(ev("response.content_part.added", { ...at, part }));
      events.push(ev("response.output_text.delta", { ...at, delta: text }));
      events.push(ev("response.output_text.done", { ...at, text }));
      events.push(ev("response.content_part.done", { ...at, part: { ...part, text } }));
    } else {
      events.push(ev("response.output_item.added", {
        output_index: outputIndex,
        item: { ...item, status: "in_progress" },
      }));
    }
    events.push(ev("response.output_item.done", { output_index: outputIndex, item }));
  });
  events.push(ev("response.completed", {
    response: {
      ...base,
      status: "completed",
      output: items,
      usage: {
        input_tokens: inputTokens,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: outputTokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: inputTokens + outputTokens,
      },
    },
  }));
  return { turn, scripted, toolResults: history.toolResults, events };
}

/** The default error body for a scripted HTTP status (OpenAI's error shape). */
export function openaiErrorBody(status: number): unknown {
  const type = status === 401 ? "invalid_request_error" : status >= 500 ? "server_error" : "error";
  return {
    error: {
      message: `scripted error ${status}`,
      type,
      code: status === 401 ? "invalid_api_key" : null,
    },
  };
}
