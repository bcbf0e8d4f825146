/**
 * @module
 * The Anthropic Messages API as Claude Code 2.1 uses it: `POST /v1/messages?beta=true` with
 * `stream: true`, answered with SSE (`message_start`, `ping`, per content block
 * `content_block_start`/`content_block_delta`/`content_block_stop`, `message_delta` with the
 * stop reason and usage, `message_stop`). Non-streaming requests get a plain `message`. Pure:
 * a request body in, the events (or a message) out.
 */
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

/** One server-sent event. */
export interface SseEvent {
  event: string;
  data: unknown;
}

/** What to answer to one Messages request. */
export interface AnthropicPlan {
  /** Index of the scripted turn. */
  turn: number;
  /** The scripted turn (placeholders not yet filled; errors and hangs live here). */
  scripted: ScriptTurn;
  /** The tool results found in the request, oldest first (`[is_error] ` marks errors). */
  toolResults: string[];
  /** The stream to send (when `stream: true`). */
  events: SseEvent[];
  /** The body to send otherwise. */
  message: Record<string, unknown>;
}

function resultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((b) => typeof obj(b).text === "string" ? obj(b).text as string : "")
      .join("\n");
  }
  return "";
}

/** Tool results (in order), the tool_use ids and the assistant turns of the request's history. */
export function readHistory(body: Record<string, unknown>): RequestHistory {
  const toolResults: string[] = [];
  const callIds: string[] = [];
  let modelTurns = 0;
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const raw of messages) {
    const m = obj(raw);
    if (m.role === "assistant") modelTurns++;
    if (!Array.isArray(m.content)) continue;
    for (const rawBlock of m.content) {
      const b = obj(rawBlock);
      if (b.type === "tool_use" && typeof b.id === "string") callIds.push(b.id);
      if (b.type === "tool_result") {
        const text = resultText(b.content);
        toolResults.push(b.is_error === true ? `[is_error] ${text}` : text);
      }
    }
  }
  return { toolResults, callIds, modelTurns };
}

/**
 * Plans the answer to one Messages request.
 *
 * @example
 * ```ts
 * const plan = planAnthropic({ model: "m", stream: true, messages: [{ role: "user", content: "hi" }] },
 *   { turns: [{ text: "hello" }] }, {});
 * plan.events.map((e) => e.event); // message_start, ping, content_block_start, ...
 * ```
 */
export function planAnthropic(
  body: Record<string, unknown>,
  script: FakeModelScript,
  vars: Readonly<Record<string, string>>,
): AnthropicPlan {
  const history = readHistory(body);
  const ctx = turnContext("anthropic", body, history, script, vars);
  const { turn, scripted, placeholders: p, model, inputTokens, outputTokens } = ctx;
  const content: Record<string, unknown>[] = [];
  if (scripted.text !== undefined) content.push({ type: "text", text: fillText(scripted.text, p) });
  (scripted.tool_calls ?? []).forEach((call, n) => {
    content.push({
      type: "tool_use",
      id: toolCallId("toolu", turn, n),
      name: call.name,
      input: fillValue(call.input ?? {}, p),
    });
  });
  const stopReason = scripted.tool_calls?.length ? "tool_use" : "end_turn";
  const id = `msg_fake_t${turn}_${crypto.randomUUID().slice(0, 8)}`;
  const usage = {
    input_tokens: inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: outputTokens,
  };
  const message = {
    id,
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage,
  };
  const events: SseEvent[] = [
    {
      event: "message_start",
      data: {
        type: "message_start",
        message: {
          ...message,
          content: [],
          stop_reason: null,
          usage: { ...usage, output_tokens: 1 },
        },
      },
    },
    { event: "ping", data: { type: "ping" } },
  ];
  content.forEach((block, index) => {
    if (block.type === "text") {
      events.push({
        event: "content_block_start",
        data: { type: "content_block_start", index, content_block: { type: "text", text: "" } },
      });
      events.push({
        event: "content_block_delta",
        data: {
          type: "content_block_delta",
          index,
          delta: { type: "text_delta", text: block.text },
        },
      });
    } else {
      events.push({
        event: "content_block_start",
        data: {
          type: "content_block_start",
          index,
          content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
        },
      });
      events.push({
        event: "content_block_delta",
        data: {
          type: "content_block_delta",
          index,
          delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input) },
        },
      });
    }
    events.push({ event: "content_block_stop", data: { type: "content_block_stop", index } });
  });
  events.push({
    event: "message_delta",
    data: {
      type: "message_delta",
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: outputTokens },
    },
  });
  events.push({ event: "message_stop", data: { type: "message_stop" } });
  return { turn, scripted, toolResults: history.toolResults, events, message };
}

/** The default error body for a scripted HTTP status (Anthropic's error shape). */
export function anthropicErrorBody(status: number): unknown {
  const type = status === 401
    ? "authentication_error"
    : status === 429
    ? "rate_limit_error"
    : status >= 500
    ? "api_error"
    : "invalid_request_error";
  return { type: "error", error: { type, message: `scripted error ${status}` } };
}
