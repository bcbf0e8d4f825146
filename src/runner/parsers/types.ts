/**
 * @module
 * The common interface of runner output parsers, and helpers they share. Parsers are pure
 * and streaming: the supervisor feeds stdout line by line, then calls `finish` with the exit
 * status. A parser never decides `cancelled`/`timed_out` (only the supervisor knows it sent a
 * signal); it says whether the output itself shows a successful run.
 *
 * @example
 * ```ts
 * import { createParser } from "./mod.ts";
 * const p = createParser("text");
 * p.feedLine("hello");
 * p.finish({ code: 0, signal: null }).success; // true
 * ```
 */
import type { Claims, Evidence, PermissionDenial } from "../../protocol/task.ts";
import type { TaskError } from "../../protocol/task_errors.ts";
import type { RunnerEvent } from "../types.ts";

/** How the runner process ended. */
export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

/** Token use and cost as the runner reported them (null: not reported). */
export type Usage = Evidence["usage"];

/** What a parser concluded once the process ended. */
export interface ParseOutcome {
  /** The runner's own words: untrusted. */
  claims: Claims;
  usage: Usage;
  denials: PermissionDenial[];
  /** Why the run failed, with the runner's error text; null when `success`. */
  error: TaskError | null;
  /** True only when the output shows a completed run and the process exited 0. */
  success: boolean;
}

/** A streaming parser for one run's stdout. */
export interface OutputParser {
  /** Consumes one stdout line (without its newline); returns the events it yields. */
  feedLine(line: string): RunnerEvent[];
  /** Concludes the run. Call once, after the last line. */
  finish(exit: ExitStatus): ParseOutcome;
  /**
   * Non-null once the output shows the run can no longer succeed although the CLI keeps
   * going (codex waiting for a network that is not there): the run is stopped and fails
   * with this error instead of waiting for the task timeout.
   */
  giveUp?(): TaskError | null;
}

/** Lines longer than this (UTF-16 units) are not parsed; they become a log event. */
export const MAX_LINE_CHARS = 8 * 1024 * 1024;
/** Event texts are cut to this many characters. */
export const MAX_EVENT_TEXT_CHARS = 2000;

/** No usage reported. */
export function emptyUsage(): Usage {
  return { input_tokens: null, output_tokens: null, cost_usd: null };
}

/** Cuts `text` to `max` characters, saying how much was dropped. */
export function truncate(text: string, max = MAX_EVENT_TEXT_CHARS): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… [${text.length - max} more characters]`;
}

/** Describes an exit for messages: "exit code 143", "signal SIGTERM". */
export function describeExit(exit: ExitStatus): string {
  if (exit.signal !== null) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code ?? "unknown"}`;
}

/** True when the process exited normally with code 0. */
export function exitedCleanly(exit: ExitStatus): boolean {
  return exit.code === 0 && exit.signal === null;
}

/**
 * Splits a raw line into a parsed JSON object, or a log event when it is not one (non-JSON
 * noise, a JSON non-object, or an over-long line). Strips a trailing `\r`.
 */
export function parseJsonLine(
  line: string,
): { object: Record<string, unknown> } | { event: RunnerEvent | null } {
  const text = line.endsWith("\r") ? line.slice(0, -1) : line;
  if (text.trim() === "") return { event: null };
  if (text.length > MAX_LINE_CHARS) {
    return {
      event: {
        kind: "log",
        text: `output line of ${text.length} characters skipped (over ${MAX_LINE_CHARS})`,
        data: { skipped_chars: text.length },
      },
    };
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      return { object: value as Record<string, unknown> };
    }
  } catch {
    // not JSON: fall through to a log event
  }
  return { event: { kind: "log", text: truncate(text) } };
}

/** `value` if it is a string, else null. */
export function str(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/** `value` if it is a finite number, else null. */
export function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** `value` if it is a plain object, else an empty one. */
export function obj(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}
