/**
 * @module
 * The daemon's log output: `@logtape/logtape` (the npm stand-in for `@std/log`) formats each
 * record as text for humans on a terminal or as a JSON line otherwise, and writes it to stderr.
 * Only the main thread loads it; the worker thread's records reach it through
 * `worker/log_port.ts`.
 *
 * @example
 * ```ts
 * import { setupLogging } from "./log_setup.ts";
 * import { logger } from "./log.ts";
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
  type LogRecord,
} from "@logtape/logtape";
import { type LogOptions, setLogSink } from "./log.ts";

/** Configures the `cmesh` logger tree and makes it this thread's sink (later calls replace it). */
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
  setLogSink((level, category, message, props) => {
    const log = getLogger([...category]);
    if (level === "debug") log.debug(message, props);
    else if (level === "info") log.info(message, props);
    else if (level === "warning") log.warn(message, props);
    else log.error(message, props);
  });
}
