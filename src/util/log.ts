/**
 * @module
 * Logging as cmesh's code calls it: `logger(area).info("message {prop}", { prop })`, structured,
 * on stderr (stdout belongs to `--json` output and to MCP). Prompts, tokens and secrets are never
 * logged: callers log sizes and ids.
 *
 * This module only hands each record to the sink of its thread and loads no logging library, so
 * the worker thread can log without one: the daemon's main thread formats and writes with
 * `@logtape/logtape` (`log_setup.ts`), and the worker thread posts its records there
 * (`worker/log_port.ts`). Before a sink is set, records are dropped.
 *
 * @example
 * ```ts
 * import { logger, setLogSink } from "./log.ts";
 * const seen: string[] = [];
 * setLogSink((level, _category, message) => seen.push(`${level}: ${message}`));
 * logger("daemon").info("worker listening on {listening}", { listening: ["100.64.0.1:7433"] });
 * seen; // ["info: worker listening on {listening}"]
 * ```
 */

/** Levels accepted by `daemon.log_level`, lowest first. */
export type LogLevelName = "debug" | "info" | "warning" | "error";

/** The levels in order, lowest first. */
export const LOG_LEVELS: readonly LogLevelName[] = ["debug", "info", "warning", "error"];

/** True when a record at `level` passes a threshold of `lowest`. */
export function levelPasses(level: LogLevelName, lowest: LogLevelName): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(lowest);
}

/** How to log. `json`: JSON lines; otherwise text (`color` adds ANSI colours). */
export interface LogOptions {
  level: LogLevelName;
  json: boolean;
  color: boolean;
}

/**
 * Where one thread's records go: the level, the category (`["cmesh", area]`), the message
 * template (`{prop}` placeholders) and its properties.
 */
export type LogSink = (
  level: LogLevelName,
  category: readonly string[],
  message: string,
  props: Record<string, unknown>,
) => void;

/** One area's logger. Messages are templates: `{name}` is replaced by `props.name`. */
export interface Logger {
  debug(message: string, props?: Record<string, unknown>): void;
  info(message: string, props?: Record<string, unknown>): void;
  warn(message: string, props?: Record<string, unknown>): void;
  error(message: string, props?: Record<string, unknown>): void;
}

let sink: LogSink | null = null;

/** Sets this thread's sink (`null`: drop records). Later calls replace it. */
export function setLogSink(next: LogSink | null): void {
  sink = next;
}

/** Hands one record to this thread's sink (the main thread writes the worker thread's so). */
export function emitLog(
  level: LogLevelName,
  category: readonly string[],
  message: string,
  props: Record<string, unknown> = {},
): void {
  sink?.(level, category, message, props);
}

/** The logger for one area of cmesh, e.g. `logger("worker")`. */
export function logger(area: string): Logger {
  const category = ["cmesh", area] as const;
  const at = (level: LogLevelName) => (message: string, props?: Record<string, unknown>) =>
    emitLog(level, category, message, props);
  return { debug: at("debug"), info: at("info"), warn: at("warning"), error: at("error") };
}

/** Default options for this process: JSON unless stderr is a terminal; colour unless NO_COLOR. */
export function defaultLogOptions(
  level: LogLevelName,
  env: { NO_COLOR?: string } = {},
): LogOptions {
  const tty = Deno.stderr.isTerminal();
  return { level, json: !tty, color: tty && !env.NO_COLOR };
}
