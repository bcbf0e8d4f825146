/**
 * @module
 * What every tool module shares: the context tools get, the input fields several tools
 * take, and the text of a follow answer (used by `cmesh_delegate` and `cmesh_wait`).
 *
 * @example
 * ```ts
 * import { reporterFor } from "./common.ts";
 * // inside a tool callback: const progress = reporterFor(extra);
 * ```
 */
import { z } from "../../deps/zod.ts";
import type {
  McpServer,
  RequestHandlerExtra,
  ServerNotification,
  ServerRequest,
} from "../../deps/mcp.ts";
import { TaskId } from "../../protocol/task.ts";
import type { ControlCalls } from "../../control/calls.ts";
import { eventsText, resultText, taskText } from "../format.ts";
import { ProgressReporter } from "../progress.ts";
import type { FollowOut } from "../schemas.ts";

/** What a tool callback gets besides its arguments. */
export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What the tool modules need. */
export interface ToolContext {
  control: ControlCalls;
}

/** A function that registers one group of tools. */
export type ToolRegistrar = (server: McpServer, ctx: ToolContext) => void;

/** Longest wait a single call may ask for (seconds). */
export const MAX_WAIT_S = 600;

/** The `task_id` argument. */
export const taskIdArg = TaskId.describe(
  "the task id cmesh_delegate returned (also listed by cmesh_tasks)",
);

/** A bounded `wait_seconds` argument. */
export function waitSecondsArg(what: string) {
  return z.int().min(0).max(MAX_WAIT_S).describe(
    `${what} (0..${MAX_WAIT_S}). Progress notifications are sent while waiting if you pass a ` +
      `progressToken. Keep it below your client's tool-call timeout; call cmesh_wait again to ` +
      `keep waiting.`,
  );
}

/** A progress reporter for the current tool call. */
export function reporterFor(extra: ToolExtra): ProgressReporter {
  return new ProgressReporter({
    progressToken: extra._meta?.progressToken,
    send: (n) => extra.sendNotification(n),
  });
}

/** Suggested next call, as JSON the agent can copy. */
export function nextWait(f: Pick<FollowOut, "task_id" | "next_after">, waitS = 120): string {
  return `cmesh_wait ${
    JSON.stringify({ task_id: f.task_id, wait_seconds: waitS, after: f.next_after })
  }`;
}

/** The text block of a follow answer. */
export function followText(f: FollowOut, lead: string): string {
  const parts = [lead];
  if (f.done && f.result) {
    parts.push(resultText(f.result));
    parts.push(
      "Judge the outcome by the evidence (exit, changed files, diff stat, denials), not by the claims.",
    );
  } else {
    parts.push(taskText(f.task));
    const log = eventsText(f.events, f.events_omitted);
    if (log) parts.push(log);
    parts.push(
      f.done
        ? `The task ended (${f.state}) without a stored result.`
        : `Next: ${
          nextWait(f)
        } to keep waiting, cmesh_status for a quick look, or cmesh_cancel to stop it.`,
    );
  }
  return parts.join("\n\n");
}
