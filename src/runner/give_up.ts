/**
 * @module
 * Stops a run whose output shows it can no longer succeed while the CLI keeps going (see
 * {@link OutputParser.giveUp}): wraps the parser so that each line is checked, and aborts the
 * run's signal once the parser gives up. The run then concludes as failed with the parser's
 * error, not as cancelled or timed out.
 *
 * @example
 * ```ts
 * import { watchForGiveUp } from "./give_up.ts";
 * import { createParser } from "./parsers/mod.ts";
 * const watch = watchForGiveUp(createParser("codex-jsonl"));
 * watch.parser.feedLine('{"type":"turn.started"}');
 * watch.signal.aborted; // false
 * watch.verdict(); // null
 * ```
 */
import type { TaskError } from "../protocol/task_errors.ts";
import type { OutputParser } from "./parsers/types.ts";

/** A parser whose give-up aborts {@link GiveUpWatch.signal}. */
export interface GiveUpWatch {
  parser: OutputParser;
  /** Aborted when the caller's signal aborts or the parser gives up. */
  signal: AbortSignal;
  /** The parser's error once it gave up (and so the run was stopped), else null. */
  verdict(): TaskError | null;
}

/** Wraps `parser`; `signal` (the caller's cancel) still aborts the returned signal. */
export function watchForGiveUp(parser: OutputParser, signal?: AbortSignal): GiveUpWatch {
  const own = new AbortController();
  let verdict: TaskError | null = null;
  const watched: OutputParser = {
    feedLine(line) {
      const events = parser.feedLine(line);
      if (verdict === null && !signal?.aborted) {
        const e = parser.giveUp?.() ?? null;
        if (e !== null) {
          verdict = e;
          own.abort("gave_up");
        }
      }
      return events;
    },
    finish: (exit) => parser.finish(exit),
  };
  return {
    parser: watched,
    signal: signal ? AbortSignal.any([signal, own.signal]) : own.signal,
    verdict: () => verdict,
  };
}
