/**
 * @module
 * Calling the control API from a CLI command: errors become {@link CliError}s with the right
 * exit code (3 for policy denials, on either side).
 */
import type { ControlAnswer, ControlFailure } from "../control/calls.ts";
import { ControlClient } from "../control/client.ts";
import { configFileFor } from "./context.ts";
import { CliError, type CommonOptions, EXIT } from "./output.ts";

/** A client for the configured daemon. */
export async function controlFor(opts: CommonOptions): Promise<ControlClient> {
  return await ControlClient.fromConfig(configFileFor(opts));
}

/** The value of a checked answer, or throws its failure as a CliError. */
export function answerOf<T>(res: ControlAnswer<T>): T {
  return res.ok ? res.value : failed(res);
}

function failed(res: ControlFailure): never {
  const e = res.error;
  const denied = e.code === "denied" || e.code === "peer_denied";
  const rule = "rule" in e && e.rule && !e.message.includes(e.rule) ? ` [rule ${e.rule}]` : "";
  throw new CliError(`${e.message}${rule}`, denied ? EXIT.DENIED : EXIT.FAILURE, e.code, {
    ...("rule" in e && e.rule ? { rule: e.rule } : {}),
    ...("task" in e && e.task ? { task: e.task } : {}),
  });
}
