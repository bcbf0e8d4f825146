/**
 * @module
 * Parser for plain-text runners: every line is a message, the final text is the output
 * (its last {@link MAX_FINAL_TEXT_CHARS} characters), and success is exit 0. A text runner
 * has no result marker, so a run that was stopped yet exited 0 cannot be told apart here;
 * the supervisor knows when it sent a signal.
 *
 * @example
 * ```ts
 * import { TextParser } from "./text.ts";
 * const p = new TextParser();
 * p.feedLine("all tests pass");
 * p.finish({ code: 0, signal: null }).claims.final_text; // "all tests pass"
 * ```
 */
import type { RunnerEvent } from "../types.ts";
import {
  describeExit,
  emptyUsage,
  exitedCleanly,
  type ExitStatus,
  type OutputParser,
  type ParseOutcome,
  truncate,
} from "./types.ts";

/** The final text keeps at most this many trailing characters of the output. */
export const MAX_FINAL_TEXT_CHARS = 256 * 1024;

/** Streaming parser for `text`. */
export class TextParser implements OutputParser {
  #lines: string[] = [];
  #chars = 0;
  #dropped = false;

  /** Consumes one stdout line. */
  feedLine(line: string): RunnerEvent[] {
    const text = line.endsWith("\r") ? line.slice(0, -1) : line;
    this.#lines.push(text);
    this.#chars += text.length + 1;
    while (this.#chars > MAX_FINAL_TEXT_CHARS && this.#lines.length > 1) {
      this.#chars -= this.#lines.shift()!.length + 1;
      this.#dropped = true;
    }
    return text.trim() === "" ? [] : [{ kind: "message", text: truncate(text) }];
  }

  /** Concludes the run. */
  finish(exit: ExitStatus): ParseOutcome {
    let text = this.#lines.join("\n").trim();
    if (text.length > MAX_FINAL_TEXT_CHARS) text = text.slice(-MAX_FINAL_TEXT_CHARS);
    if (this.#dropped) text = `[earlier output dropped]\n${text}`;
    const ok = exitedCleanly(exit);
    return {
      claims: { final_text: text === "" ? null : text, session_id: null },
      usage: emptyUsage(),
      denials: [],
      error: ok ? null : { code: "runner_exit_nonzero", message: `runner ${describeExit(exit)}` },
      success: ok,
    };
  }
}
