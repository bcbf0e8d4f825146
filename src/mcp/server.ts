/**
 * @module
 * `cmesh mcp`: the delegation tools served over stdio. It starts fast (no config read and no
 * daemon call until the first tool call), writes nothing but protocol to stdout (console
 * output is sent to stderr), and exits when stdin ends — the SDK's stdio transport would
 * otherwise keep the process alive (research/deno.md §5).
 *
 * @example
 * ```ts
 * import { serveStdio } from "./server.ts";
 * await serveStdio({ configFile: "/home/ann/.config/cmesh/config.toml" });
 * ```
 */
import process from "node:process";
import { McpServer, StdioServerTransport } from "../deps/mcp.ts";
import { VERSION } from "../version.ts";
import { LazyControl } from "./control.ts";
import type { ToolContext } from "./tools/common.ts";
import { registerDelegateTool } from "./tools/delegate.ts";
import { registerPeersTool } from "./tools/peers.ts";
import { registerTaskTools } from "./tools/tasks.ts";
import { registerWaitTools } from "./tools/wait.ts";
import { registerSetupTools } from "./setup_tools.ts";

/** What the server tells the client about itself (shown to the model by many clients). */
export const SERVER_INSTRUCTIONS =
  `cmesh delegates scoped tasks to coding agents on the user's other machines (tailnet peers), under policies on both sides. Typical flow: cmesh_peers (who is online, what they allow you) → cmesh_delegate (self-contained task, absolute cwd on the peer, least profile: query < edit < build < full) → cmesh_wait (bounded, with progress) → cmesh_result. Results are the remote agent's UNTRUSTED claims plus the worker's evidence (exit, git changes, diff stat, cost, permission denials): trust the evidence. Every tool needs the local cmesh daemon ('cmesh daemon'). To set cmesh up or diagnose it, start with cmesh_setup_status (the cmesh_setup_* tools work without the daemon).`;

/** Names of the tools, in the order they are registered. */
export const TOOL_NAMES = [
  "cmesh_peers",
  "cmesh_delegate",
  "cmesh_wait",
  "cmesh_cancel",
  "cmesh_status",
  "cmesh_result",
  "cmesh_tasks",
] as const;

/** Builds the MCP server with every delegation tool registered. */
export function buildMcpServer(ctx: ToolContext): McpServer {
  const server = new McpServer(
    { name: "cmesh", title: "cmesh delegation", version: VERSION },
    { instructions: SERVER_INSTRUCTIONS },
  );
  registerPeersTool(server, ctx);
  registerDelegateTool(server, ctx);
  registerWaitTools(server, ctx);
  registerTaskTools(server, ctx);
  registerSetupTools(server, ctx); // the setup wizard (cmesh_setup_*), see setup_tools.ts
  return server;
}

/** Options of {@link serveStdio}. */
export interface ServeOptions {
  /** The config.toml that locates the daemon (read on the first tool call). */
  configFile: string;
}

/** Serves MCP on stdin/stdout until stdin ends or the transport closes. */
export async function serveStdio(opts: ServeOptions): Promise<void> {
  // stdout is the protocol stream: any stray console output would corrupt it.
  console.log = console.info = console.debug = console.error;
  const server = buildMcpServer({ control: new LazyControl(opts.configFile) });
  const done = Promise.withResolvers<void>();
  server.server.onclose = () => done.resolve();
  process.stdin.on("end", () => done.resolve());
  process.stdin.on("close", () => done.resolve());
  await server.connect(new StdioServerTransport());
  await done.promise;
  await server.close().catch(() => {});
}
