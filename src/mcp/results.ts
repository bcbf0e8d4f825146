/**
 * @module
 * Building tool results. Successes carry a readable text block plus `structuredContent`;
 * expected failures (denials, peer offline, daemon down, unknown task) are `isError` results
 * whose text says what happened and what to do next — never protocol errors.
 *
 * Error results carry no `structuredContent`: clients validate it against the tool's
 * `outputSchema` even on errors, and Claude Code shows the model only the text. So the text
 * holds everything, ending in a `[error <code>, rule <rule>]` line for machines.
 *
 * @example
 * ```ts
 * import { errorResult } from "./results.ts";
 * const r = errorResult({ code: "denied", message: "cwd /etc is not allowed", rule: "outbound.cwd" });
 * r.isError; // true
 * ```
 */
import type { CallToolResult } from "../deps/mcp.ts";

/** An error as the control API reports it. */
export interface ToolError {
  code: string;
  message: string;
  rule?: string;
}

/** A successful result: text for people and models, structured content for programs. */
export function okResult(text: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured };
}

/** Context that makes an error message more actionable. */
export interface ErrorContext {
  peer?: string;
  taskId?: string;
}

/** Explains a control API error to an agent: what happened, whose decision, what to do. */
export function explainError(err: ToolError, ctx: ErrorContext = {}): string {
  const peer = ctx.peer ?? "the peer";
  const rule = err.rule ? ` (rule ${err.rule})` : "";
  switch (err.code) {
    case "denied":
      return `Denied by your own outbound policy${rule}, before anything was sent: ${err.message}\n` +
        `Call cmesh_peers to see which profiles and cwd patterns you may send to each peer.`;
    case "peer_denied":
      return `Refused by ${peer}: this is ${peer}'s own policy decision, quoted as it gave it` +
        `${err.rule ? ` (peer rule ${err.rule})` : ""}:\n${err.message}\n` +
        `Call cmesh_peers to see what ${peer} allows you (profiles, cwd roots, runners) and ` +
        `retry within that, or ask ${peer}'s owner to widen its inbound.allow rules.`;
    case "peer_unreachable":
    case "peer_not_cmesh":
      return `Could not reach cmesh on ${peer}; the task did not start: ${err.message}\n` +
        `Call cmesh_peers to see which peers are online.`;
    case "peer_response_too_large":
      return `${peer} sent more than cmesh reads, so it stopped reading and failed the task: ` +
        `${err.message}\nTell the user; a cmesh worker never sends that much.`;
    case "peer_busy":
      return `${peer} is busy and did not take the task: ${err.message}\n` +
        `Retry later, or check its queue limits with cmesh_peers.`;
    case "daemon_not_running":
    case "no_token":
      return `${err.message}\nThe MCP server itself is fine; the tools need that local daemon. ` +
        `Ask the user to start it, then retry.`;
    case "not_cmesh":
      return `${err.message}\nNothing was delegated. Tell the user: the cmesh daemon's control ` +
        `port is held by something that is not their daemon.`;
    case "invalid_config":
      return err.message;
    case "not_found":
      return `${err.message}\nCall cmesh_tasks to list recent task ids.`;
    case "conflict":
      return err.message;
    case "bad_request":
    case "invalid_request":
    case "invalid_json":
      return `The request was rejected as invalid: ${err.message}`;
    default:
      return `cmesh failed (${err.code}): ${err.message}`;
  }
}

/** An `isError` tool result for a control API error. */
export function errorResult(err: ToolError, ctx: ErrorContext = {}): CallToolResult {
  const tag = `[error ${err.code}${err.rule ? `, rule ${err.rule}` : ""}]`;
  return { content: [{ type: "text", text: `${explainError(err, ctx)}\n${tag}` }], isError: true };
}
