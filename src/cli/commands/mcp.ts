/**
 * @module
 * `cmesh mcp`: serve the delegation tools to a coding agent over stdio. Loaded lazily by
 * `program.ts`, so other commands never pay for the MCP SDK.
 */
import { serveStdio } from "../../mcp/server.ts";
import { configFileFor } from "../context.ts";
import type { CommonOptions } from "../output.ts";

/**
 * Serves MCP on stdin/stdout until the client closes stdin. The config file is only
 * resolved here, not read: the first tool call reads it.
 *
 * @example
 * ```sh
 * claude mcp add cmesh -- cmesh mcp
 * ```
 */
export async function mcp(opts: CommonOptions): Promise<void> {
  await serveStdio({ configFile: configFileFor(opts) });
}
