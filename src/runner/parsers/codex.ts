/**
 * @module
 * Parser for `codex exec --json` JSONL: `thread.started`, `turn.started`,
 * `item.started`/`item.completed` (command_execution, agent_message, file_change, error, ...),
 * `turn.completed` (usage), `turn.failed`, top-level `error`.
 *
 * Rules (from runners.md): success needs a `turn.completed`, no `turn.failed`, and exit 0
 * (SIGINT exits 1 with no `turn.failed`; SIGTERM leaves only `thread.started`/`turn.started`).
 * The final text is the last `agent_message`. Codex reports no cost. Its `input_tokens`
 * already include `cached_input_tokens` (OpenAI semantics), so they are not added again.
 * Rejected tool calls (escalation, patch under read-only) leave no event at all; a sandboxed
 * command that hit "Read-only file system" is recorded as a denial.
 *
 * @example
 * ```ts
 * import { CodexParser } from "./codex.ts";
 * const p = new CodexParser();
 * p.feedLine('{"type":"item.completed","item":{"id":"i","type":"agent_message","text":"done"}}');
 * p.feedLine('{"type":"turn.completed","usage":{"input_tokens":5,"output_tokens":2}}');
 * p.finish({ code: 0, signal: null }).success; // true
 * ```
 */
import type { PermissionDenial } from "../../protocol/task.ts";
import type { TaskError } from "../../protocol/task_errors.ts";
import type { RunnerEvent } from "../types.ts";
import {
  describeExit,
  exitedCleanly,
  type ExitStatus,
  num,
  obj,
  type OutputParser,
  parseJsonLine,
  type ParseOutcome,
  str,
  truncate,
} from "./types.ts";

const SANDBOX_BLOCKED = /read-only file system/i;

/** Codex's endless reconnect loop when it cannot connect to its model API at all. */
const WAITING_FOR_NETWORK = /waiting for network/i;
/**
 * Consecutive "waiting for network" errors after which the run is given up. Codex 0.171 backs
 * off about 0.7, 5, 10, 20, 40 s between them and never stops on its own (its
 * `request_max_retries`/`stream_max_retries` do not bound this loop), so 4 is ~40 s.
 */
export const CODEX_NETWORK_WAITS_BEFORE_GIVING_UP = 4;

/** Streaming parser for `codex-jsonl`. */
export class CodexParser implements OutputParser {
  #threadId: string | null = null;
  #finalText: string | null = null;
  #turnCompleted = false;
  #turnFailed: string | null = null;
  #lastError: string | null = null;
  #input: number | null = null;
  #output: number | null = null;
  #denials: PermissionDenial[] = [];
  #networkWaits = 0;
  #networkWaitMessage = "";

  /** Consumes one stdout line. */
  feedLine(line: string): RunnerEvent[] {
    const parsed = parseJsonLine(line);
    if ("event" in parsed) return parsed.event === null ? [] : [parsed.event];
    const o = parsed.object;
    const message = o.type === "error" ? str(o.message) ?? "" : "";
    if (WAITING_FOR_NETWORK.test(message)) {
      this.#networkWaits++;
      this.#networkWaitMessage = message;
    } else if (o.type !== "error") this.#networkWaits = 0;
    switch (o.type) {
      case "thread.started":
        this.#threadId = str(o.thread_id) ?? this.#threadId;
        return [{
          kind: "log",
          text: `codex thread ${this.#threadId ?? "?"} started`,
          data: { session_id: this.#threadId },
        }];
      case "turn.started":
        return [];
      case "item.started":
        return this.#onItemStarted(obj(o.item));
      case "item.updated":
        return [];
      case "item.completed":
        return this.#onItemCompleted(obj(o.item));
      case "turn.completed":
        return [this.#onUsage(obj(o.usage))];
      case "turn.failed": {
        const message = str(obj(o.error).message) ?? "turn failed";
        this.#turnFailed = message;
        return [{ kind: "error", text: truncate(`codex turn failed: ${message}`) }];
      }
      case "error": {
        const message = str(o.message) ?? "error";
        this.#lastError = message;
        return [{ kind: "error", text: truncate(message) }];
      }
      default:
        return [{ kind: "log", text: `codex event ${String(o.type)}`, data: { type: o.type } }];
    }
  }

  #onItemStarted(item: Record<string, unknown>): RunnerEvent[] {
    if (item.type !== "command_execution") return [];
    return [{
      kind: "tool",
      text: `$ ${truncate(str(item.command) ?? "?", 500)}`,
      data: { tool: "command_execution", item_id: str(item.id), status: "in_progress" },
    }];
  }

  #onItemCompleted(item: Record<string, unknown>): RunnerEvent[] {
    switch (item.type) {
      case "agent_message": {
        const text = str(item.text) ?? "";
        this.#finalText = text;
        return text === "" ? [] : [{ kind: "message", text: truncate(text) }];
      }
      case "command_execution": {
        const command = str(item.command) ?? "?";
        const exitCode = num(item.exit_code);
        const output = str(item.aggregated_output) ?? "";
        const events: RunnerEvent[] = [{
          kind: "tool",
          text: `$ ${truncate(command, 500)} → exit ${exitCode ?? "?"}`,
          data: {
            tool: "command_execution",
            item_id: str(item.id),
            exit_code: exitCode,
            status: str(item.status),
            output: truncate(output),
          },
        }];
        if (exitCode !== 0 && SANDBOX_BLOCKED.test(output)) {
          const denial = {
            tool: "command_execution",
            detail: truncate(`${command}: blocked by the sandbox (Read-only file system)`, 500),
          };
          this.#denials.push(denial);
          events.push({ kind: "denial", text: denial.detail, data: { ...denial } });
        }
        return events;
      }
      case "file_change": {
        const changes = Array.isArray(item.changes) ? item.changes.map(obj) : [];
        const list = changes.map((c) => `${str(c.kind) ?? "?"} ${str(c.path) ?? "?"}`);
        return [{
          kind: "tool",
          text: truncate(`file change (${str(item.status) ?? "?"}): ${list.join(", ")}`),
          data: { tool: "file_change", item_id: str(item.id), changes: list },
        }];
      }
      case "error":
        // Non-fatal (e.g. "Model metadata for `x` not found"); a fatal one ends in turn.failed.
        return [{ kind: "error", text: truncate(str(item.message) ?? "error") }];
      case "reasoning":
        return [];
      default:
        return [{
          kind: "tool",
          text: `codex ${String(item.type)}`,
          data: { tool: String(item.type), item_id: str(item.id) },
        }];
    }
  }

  #onUsage(usage: Record<string, unknown>): RunnerEvent {
    this.#turnCompleted = true;
    const input = num(usage.input_tokens);
    const output = num(usage.output_tokens);
    // exec runs one turn; should there be more, each turn.completed is added up.
    if (input !== null) this.#input = (this.#input ?? 0) + Math.round(input);
    if (output !== null) this.#output = (this.#output ?? 0) + Math.round(output);
    return {
      kind: "usage",
      text: `${input ?? "?"} input / ${output ?? "?"} output tokens`,
      data: { input_tokens: this.#input, output_tokens: this.#output, raw: usage },
    };
  }

  /** Non-null once codex has kept waiting for an unreachable model API. */
  giveUp(): TaskError | null {
    if (this.#networkWaits < CODEX_NETWORK_WAITS_BEFORE_GIVING_UP) return null;
    return {
      code: "runner_model_unreachable",
      message: `codex cannot reach its model API (${
        truncate(this.#networkWaitMessage, 300)
      }, ${this.#networkWaits} times); cmesh stopped it instead of letting it wait until the task timeout. Check the worker's network and the base URL it uses (runners.codex env OPENAI_BASE_URL, or a model_providers table in runners.codex args)`,
    };
  }

  /** Concludes the run. */
  finish(exit: ExitStatus): ParseOutcome {
    let error: TaskError | null = null;
    if (this.#turnFailed !== null) {
      error = { code: "runner_turn_failed", message: `codex turn failed: ${this.#turnFailed}` };
    } else if (!this.#turnCompleted) {
      const last = this.#lastError === null ? "" : ` (last error: ${this.#lastError})`;
      error = {
        code: "runner_no_result",
        message: `codex ${
          describeExit(exit)
        } without completing its turn; the run did not complete (cancelled, killed or crashed)${last}`,
      };
    } else if (!exitedCleanly(exit)) {
      error = {
        code: "runner_exit_nonzero",
        message: `codex completed its turn but ${describeExit(exit)}`,
      };
    }
    return {
      claims: { final_text: this.#finalText, session_id: this.#threadId },
      usage: { input_tokens: this.#input, output_tokens: this.#output, cost_usd: null },
      denials: [...this.#denials],
      error,
      success: error === null,
    };
  }
}
