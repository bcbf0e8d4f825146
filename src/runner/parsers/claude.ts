/**
 * @module
 * Parser for Claude Code output: `--output-format json` (one `result` object) and
 * `--output-format stream-json --verbose` (system/init, assistant, user, ..., result).
 *
 * Rules (from runners.md): only a `result` object with `is_error: false`, subtype `success`
 * and exit 0 is success; API errors keep `subtype: "success"` but set `is_error` and
 * `api_error_status`; SIGINT can exit 0 with no result at all, which is a failure here.
 * Input tokens are reported as input + cache creation + cache read tokens (everything the
 * model read; Claude Code caches heavily, so `input_tokens` alone is misleadingly small).
 *
 * @example
 * ```ts
 * import { ClaudeParser } from "./claude.ts";
 * const p = new ClaudeParser("claude-json");
 * p.feedLine('{"type":"result","subtype":"success","is_error":false,"result":"hi","session_id":"s"}');
 * p.finish({ code: 0, signal: null }).claims.final_text; // "hi"
 * ```
 */
import type { PermissionDenial } from "../../protocol/task.ts";
import type { TaskError } from "../../protocol/task_errors.ts";
import type { RunnerEvent } from "../types.ts";
import {
  describeExit,
  exitedCleanly,
  type ExitStatus,
  MAX_LINE_CHARS,
  num,
  obj,
  type OutputParser,
  parseJsonLine,
  type ParseOutcome,
  str,
  truncate,
  type Usage,
} from "./types.ts";

/** Input keys that best describe a tool call, in order of preference. */
const SUMMARY_KEYS = ["file_path", "path", "command", "pattern", "url", "query", "description"];

/** A one-line description of a tool call: `Read notes.txt`, `Bash npm test`. */
export function describeToolCall(tool: string, input: unknown): string {
  const fields = obj(input);
  for (const key of SUMMARY_KEYS) {
    const value = str(fields[key]);
    if (value !== null) return `${tool} ${truncate(value, 200)}`;
  }
  return tool;
}

/** The text of a `tool_result` content: a string, or an array of text blocks. */
function toolResultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((b) => str(obj(b).text) ?? "").filter((t) => t !== "").join("\n");
  }
  return "";
}

/** Streaming parser for `claude-json` and `claude-stream-json`. */
export class ClaudeParser implements OutputParser {
  #format: "claude-json" | "claude-stream-json";
  #sessionId: string | null = null;
  #result: Record<string, unknown> | null = null;
  #tools = new Map<string, { name: string; input: unknown }>();
  #toolErrors = new Map<string, string>();
  #notOffered: PermissionDenial[] = [];
  #rawLines: string[] = [];
  #rawChars = 0;

  /** @param format which Claude output format the runner was started with */
  constructor(format: "claude-json" | "claude-stream-json") {
    this.#format = format;
  }

  /** Consumes one stdout line. */
  feedLine(line: string): RunnerEvent[] {
    if (this.#format === "claude-json" && this.#rawChars + line.length <= MAX_LINE_CHARS) {
      // Kept in case the object is pretty-printed over several lines.
      this.#rawLines.push(line);
      this.#rawChars += line.length;
    }
    const parsed = parseJsonLine(line);
    if ("event" in parsed) return parsed.event === null ? [] : [parsed.event];
    return this.#onObject(parsed.object);
  }

  #onObject(o: Record<string, unknown>): RunnerEvent[] {
    switch (o.type) {
      case "system":
        return this.#onSystem(o);
      case "assistant":
        return this.#onAssistant(o);
      case "user":
        return this.#onUser(o);
      case "result":
        return this.#onResult(o);
      case "stream_event":
        return []; // partial-message deltas (--include-partial-messages): too fine-grained
      default:
        return [{ kind: "log", text: `claude event ${String(o.type)}`, data: { type: o.type } }];
    }
  }

  #onSystem(o: Record<string, unknown>): RunnerEvent[] {
    const sessionId = str(o.session_id);
    if (sessionId !== null) this.#sessionId = sessionId;
    if (o.subtype !== "init") {
      return [{ kind: "log", text: `claude system event ${String(o.subtype)}` }];
    }
    const tools = Array.isArray(o.tools) ? o.tools.map(String) : [];
    return [{
      kind: "log",
      text: `claude started: model ${str(o.model) ?? "?"}, tools [${
        tools.join(", ")
      }], permission mode ${str(o.permissionMode) ?? "?"}`,
      data: {
        session_id: sessionId,
        model: str(o.model),
        tools,
        permission_mode: str(o.permissionMode),
        cwd: str(o.cwd),
        version: str(o.claude_code_version),
      },
    }];
  }

  #onAssistant(o: Record<string, unknown>): RunnerEvent[] {
    const content = obj(o.message).content;
    if (!Array.isArray(content)) return [];
    const events: RunnerEvent[] = [];
    for (const raw of content) {
      const block = obj(raw);
      if (block.type === "text" && typeof block.text === "string" && block.text !== "") {
        events.push({ kind: "message", text: truncate(block.text) });
      } else if (block.type === "tool_use") {
        const name = str(block.name) ?? "?";
        const id = str(block.id) ?? "";
        this.#tools.set(id, { name, input: block.input });
        events.push({
          kind: "tool",
          text: describeToolCall(name, block.input),
          data: {
            tool: name,
            tool_use_id: id,
            input: truncate(JSON.stringify(block.input ?? null)),
          },
        });
      }
    }
    return events;
  }

  #onUser(o: Record<string, unknown>): RunnerEvent[] {
    const content = obj(o.message).content;
    if (!Array.isArray(content)) return [];
    const events: RunnerEvent[] = [];
    for (const raw of content) {
      const block = obj(raw);
      if (block.type !== "tool_result") continue;
      const id = str(block.tool_use_id) ?? "";
      const tool = this.#tools.get(id)?.name ?? "?";
      const text = toolResultText(block.content);
      const isError = block.is_error === true;
      if (isError) this.#toolErrors.set(id, text);
      events.push({
        kind: "tool",
        text: `${tool} ${isError ? "failed" : "returned"}: ${truncate(text, 500)}`,
        data: { tool, tool_use_id: id, is_error: isError },
      });
      if (isError && text.includes("No such tool available")) {
        // A tool the profile does not offer: not listed in permission_denials, but it is
        // the profile doing its job, so it is reported as a denial too.
        const denial = { tool, detail: `not offered by this profile: ${truncate(text, 500)}` };
        this.#notOffered.push(denial);
        events.push({ kind: "denial", text: `${tool}: ${denial.detail}`, data: { ...denial } });
      }
    }
    return events;
  }

  #onResult(o: Record<string, unknown>): RunnerEvent[] {
    this.#result = o;
    const sessionId = str(o.session_id);
    if (sessionId !== null) this.#sessionId = sessionId;
    const events: RunnerEvent[] = [];
    if (this.#format === "claude-json" && o.is_error !== true) {
      const text = str(o.result);
      if (text !== null && text !== "") events.push({ kind: "message", text: truncate(text) });
    }
    for (const d of this.#denials(o)) {
      events.push({ kind: "denial", text: `${d.tool}: ${d.detail}`, data: { ...d } });
    }
    const usage = this.#usage(o);
    events.push({
      kind: "usage",
      text: `${usage.input_tokens ?? "?"} input / ${usage.output_tokens ?? "?"} output tokens${
        usage.cost_usd === null ? "" : `, $${usage.cost_usd}`
      }`,
      data: { ...usage, raw: obj(o.usage), num_turns: num(o.num_turns) },
    });
    if (o.is_error === true || o.subtype !== "success") {
      events.push({ kind: "error", text: truncate(this.#errorText(o)) });
    }
    return events;
  }

  #denials(o: Record<string, unknown>): PermissionDenial[] {
    const list = Array.isArray(o.permission_denials) ? o.permission_denials : [];
    return list.map((raw) => {
      const d = obj(raw);
      const tool = str(d.tool_name) ?? "?";
      const what = describeToolCall(tool, d.tool_input).slice(tool.length).trim();
      const why = this.#toolErrors.get(str(d.tool_use_id) ?? "");
      const detail = [what, why].filter((s) => s !== undefined && s !== "").join(": ");
      return { tool, detail: truncate(detail || JSON.stringify(d.tool_input ?? null), 500) };
    });
  }

  #usage(o: Record<string, unknown>): Usage {
    const u = obj(o.usage);
    const parts = [u.input_tokens, u.cache_creation_input_tokens, u.cache_read_input_tokens]
      .map(num).filter((n): n is number => n !== null);
    return {
      input_tokens: parts.length === 0 ? null : Math.round(parts.reduce((a, b) => a + b, 0)),
      output_tokens: num(u.output_tokens) === null ? null : Math.round(num(u.output_tokens)!),
      cost_usd: num(o.total_cost_usd),
    };
  }

  #errorText(o: Record<string, unknown>): string {
    const status = num(o.api_error_status);
    const text = str(o.result) ??
      (Array.isArray(o.errors) ? o.errors.map(String).join("; ") : "") ?? "";
    if (status !== null) return `claude reported an API error (status ${status}): ${text}`;
    const why = [`subtype ${String(o.subtype)}`];
    if (typeof o.terminal_reason === "string") why.push(`terminal_reason ${o.terminal_reason}`);
    return `claude reported an error (${why.join(", ")})${text === "" ? "" : `: ${text}`}`;
  }

  #fallbackResult(): Record<string, unknown> | null {
    if (this.#format !== "claude-json" || this.#rawLines.length < 2) return null;
    const parsed = parseJsonLine(this.#rawLines.join("\n"));
    return "object" in parsed && parsed.object.type === "result" ? parsed.object : null;
  }

  /** Concludes the run. */
  finish(exit: ExitStatus): ParseOutcome {
    const result = this.#result ?? this.#fallbackResult();
    if (result !== null && this.#result === null) this.#onResult(result);
    const claims = { final_text: null as string | null, session_id: this.#sessionId };
    if (result === null) {
      return {
        claims,
        usage: { input_tokens: null, output_tokens: null, cost_usd: null },
        denials: [...this.#notOffered],
        error: {
          code: "runner_no_result",
          message: `claude ${
            describeExit(exit)
          } without printing a result; the run did not complete (cancelled, killed or crashed)`,
        },
        success: false,
      };
    }
    const failed = result.is_error === true || result.subtype !== "success";
    if (!failed) claims.final_text = str(result.result);
    const denials = [...this.#denials(result), ...this.#notOffered];
    let error: TaskError | null = null;
    if (failed) {
      const status = num(result.api_error_status);
      const code = status !== null
        ? "runner_api_error"
        : result.subtype === "error_max_turns"
        ? "runner_max_turns"
        : "runner_error";
      error = { code, message: this.#errorText(result) };
    } else if (!exitedCleanly(exit)) {
      error = {
        code: "runner_exit_nonzero",
        message: `claude printed a successful result but ${describeExit(exit)}`,
      };
    }
    return { claims, usage: this.#usage(result), denials, error, success: error === null };
  }
}
