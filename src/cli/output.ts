/**
 * @module
 * How every command speaks: human text or `--json`, documented exit codes, `NO_COLOR`.
 *
 * @example
 * ```ts
 * import { CliError, EXIT } from "./output.ts";
 * throw new CliError("peer 'x' is not in outbound.peers", EXIT.DENIED, "denied");
 * ```
 */
import { CmeshError } from "../protocol/errors.ts";

/** Exit codes, documented in docs/commands.md. */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, DENIED: 3 } as const;

/** An expected failure: printed without a stack trace, with its exit code. */
export class CliError extends CmeshError {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.FAILURE,
    code: string = "error",
    readonly details?: Record<string, unknown>,
  ) {
    super(code, message);
  }
}

/** Options every leaf command accepts. */
export interface CommonOptions {
  json?: boolean;
  config?: string;
}

/** True when colour is allowed on this stream (respects `NO_COLOR` and non-TTYs). */
export function colorEnabled(isTty: boolean, env: { NO_COLOR?: string } = safeEnv()): boolean {
  return isTty && !env.NO_COLOR;
}

function safeEnv(): { NO_COLOR?: string } {
  try {
    return { NO_COLOR: Deno.env.get("NO_COLOR") };
  } catch {
    return {};
  }
}

const useColor = () => colorEnabled(Deno.stdout.isTerminal());

/** Wraps text in an ANSI style when colour is enabled. */
export function style(text: string, kind: "bold" | "dim" | "red" | "green" | "yellow"): string {
  if (!useColor()) return text;
  const codes = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39] };
  const [a, b] = codes[kind];
  return `\x1b[${a}m${text}\x1b[${b}m`;
}

/** Prints a command's result: JSON (one document) with `--json`, else the human text. */
export function emit(opts: CommonOptions, value: unknown, human: () => string): void {
  if (opts.json) console.log(JSON.stringify(value, null, 2));
  else {
    const text = human();
    if (text) console.log(text);
  }
}

/** Prints an error the way `--json` or a human expects, and returns its exit code. */
export function reportError(err: unknown, json: boolean): number {
  if (err instanceof CliError) {
    if (json) {
      console.log(
        JSON.stringify(
          { error: { code: err.code, message: err.message, ...err.details } },
          null,
          2,
        ),
      );
    } else console.error(`${style("error:", "red")} ${err.message}`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (json) console.log(JSON.stringify({ error: { code: "internal", message } }, null, 2));
  else console.error(`${style("error:", "red")} ${message}`);
  return EXIT.FAILURE;
}
