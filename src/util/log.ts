/**
 * @module
 * Structured logging on stderr (stdout belongs to `--json` output and to MCP): text for
 * humans on a terminal, JSON lines otherwise, via `@logtape/logtape` (the npm stand-in for
 * `@std/log`). Prompts, tokens and secrets are never logged: callers log sizes and ids.
 *
 * @example
 * ```ts
 * setupLogging({ level: "info", json: !Deno.stderr.isTerminal(), color: false });
 * logger("daemon").info("worker listening on {listening}", { listening: ["100.64.0.1:7433"] });
 * ```
 */
import {
  ansiColorFormatter,
  configureSync,
  defaultTextFormatter,
  getLogger,
  jsonLinesFormatter,
  type Logger,
  type LogRecord,
} from "@logtape/logtape";

/** Levels accepted by `daemon.log_level`. */
export type LogLevelName = "debug" | "info" | "warning" | "error";

/** How to log. `json`: JSON lines; otherwise text (`color` adds ANSI colours). */
export interface LogOptions {
  level: LogLevelName;
  json: boolean;
  color: boolean;
}

/** Configures the `cmesh` logger tree (call once per thread; later calls replace it). */
export function setupLogging(opts: LogOptions): void {
  const format = opts.json
    ? jsonLinesFormatter
    : opts.color
    ? ansiColorFormatter
    : defaultTextFormatter;
  const enc = new TextEncoder();
  configureSync({
    reset: true,
    sinks: {
      stderr: (record: LogRecord) => {
        try {
          Deno.stderr.writeSync(enc.encode(format(record)));
        } catch { /* stderr closed: nothing useful to do */ }
      },
    },
    loggers: [
      { category: ["cmesh"], lowestLevel: opts.level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}

/** The logger for one area of cmesh, e.g. `logger("worker")`. */
export function logger(area: string): Logger {
  return getLogger(["cmesh", area]);
}

/** Default options for this process: JSON unless stderr is a terminal; colour unless NO_COLOR. */
export function defaultLogOptions(
  level: LogLevelName,
  env: { NO_COLOR?: string } = {},
): LogOptions {
  const tty = Deno.stderr.isTerminal();
  return { level, json: !tty, color: tty && !env.NO_COLOR };
}
