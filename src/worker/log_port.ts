/**
 * @module
 * The worker thread's log records, posted to the daemon's main thread, which writes them with its
 * own (`util/log_setup.ts`): the thread loads no logging library (about 3 MiB of memory in each
 * isolate that loads it), and one writer keeps every line of the daemon in one format.
 * Records below the daemon's level are dropped in the thread, before they cross.
 *
 * @example
 * ```ts
 * import { isThreadLog, threadLogSink } from "./log_port.ts";
 * import { logger, setLogSink } from "../util/log.ts";
 * const posted: unknown[] = [];
 * setLogSink(threadLogSink("info", (m) => posted.push(m)));
 * logger("worker").debug("not posted");
 * logger("worker").info("admitted task {id}", { id: "t-1" });
 * isThreadLog(posted[0]); // true
 * ```
 */
import { levelPasses, LOG_LEVELS, type LogLevelName, type LogSink } from "../util/log.ts";

/** One record from the worker thread. */
export interface ThreadLog {
  type: "log";
  level: LogLevelName;
  category: string[];
  message: string;
  props: Record<string, unknown>;
}

/** Longest message template the main thread writes as it is; longer ones are cut there. */
export const MAX_THREAD_LOG_CHARS = 8192;

/**
 * The worker thread's sink: records at or above `lowest` are posted. A record whose properties
 * cannot be posted (a value structured clone refuses) is posted with them as text.
 */
export function threadLogSink(lowest: LogLevelName, post: (msg: ThreadLog) => void): LogSink {
  return (level, category, message, props) => {
    if (!levelPasses(level, lowest)) return;
    const msg: ThreadLog = { type: "log", level, category: [...category], message, props };
    try {
      post(msg);
    } catch {
      const asText = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, String(v)]));
      try {
        post({ ...msg, props: asText });
      } catch { /* the main thread is gone: nothing to log to */ }
    }
  };
}

/**
 * True when `msg` is a record from the worker thread in the shape above (the main thread checks
 * before it writes one; a message too long is cut by {@link boundedThreadLog}).
 */
export function isThreadLog(msg: unknown): msg is ThreadLog {
  if (typeof msg !== "object" || msg === null) return false;
  const m = msg as Partial<ThreadLog>;
  return m.type === "log" && LOG_LEVELS.includes(m.level as LogLevelName) &&
    Array.isArray(m.category) && m.category.length <= 4 &&
    m.category.every((c) => typeof c === "string" && c.length <= 64) &&
    typeof m.message === "string" && typeof m.props === "object" && m.props !== null &&
    !Array.isArray(m.props);
}

/** The record with its message cut to {@link MAX_THREAD_LOG_CHARS}. */
export function boundedThreadLog(msg: ThreadLog): ThreadLog {
  if (msg.message.length <= MAX_THREAD_LOG_CHARS) return msg;
  return { ...msg, message: `${msg.message.slice(0, MAX_THREAD_LOG_CHARS)}… (cut)` };
}
