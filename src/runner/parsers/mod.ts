/**
 * @module
 * Picks the output parser for a manifest's `output` format.
 *
 * @example
 * ```ts
 * import { createParser } from "./mod.ts";
 * const parser = createParser("codex-jsonl");
 * for (const line of ['{"type":"thread.started","thread_id":"t1"}']) parser.feedLine(line);
 * parser.finish({ code: 0, signal: null }).success; // false: no turn.completed
 * ```
 */
import type { OutputFormat } from "../manifest.ts";
import { ClaudeParser } from "./claude.ts";
import { CodexParser } from "./codex.ts";
import { TextParser } from "./text.ts";
import type { OutputParser } from "./types.ts";

export type { ExitStatus, OutputParser, ParseOutcome, Usage } from "./types.ts";

/** A fresh parser for one run. */
export function createParser(format: OutputFormat): OutputParser {
  switch (format) {
    case "claude-json":
    case "claude-stream-json":
      return new ClaudeParser(format);
    case "codex-jsonl":
      return new CodexParser();
    case "text":
      return new TextParser();
  }
}
