/**
 * @module
 * The MCP SDK (v1), server side, with real types under `deno check`.
 *
 * SDK v1's export map points `server/mcp.js` at a `mcp.js.d.ts` that does not exist, so Deno
 * treats the `.js` subpaths as untyped (upstream typescript-sdk#2701). Every SDK import goes
 * through this file, whose `@ts-types` lines name the extensionless subpaths that do resolve.
 * The client side lives in `mcp_client.ts`: its stdio transport reads env vars at import
 * time, which the server must not need.
 *
 * @example
 * ```ts
 * import { McpServer, StdioServerTransport } from "./mcp.ts";
 * const server = new McpServer({ name: "x", version: "1" });
 * await server.connect(new StdioServerTransport());
 * ```
 */

// @ts-types="@modelcontextprotocol/sdk/server/mcp"
export { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/server/stdio"
export { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/types"
export type {
  CallToolResult,
  ServerNotification,
  ServerRequest,
  ToolAnnotations,
} from "@modelcontextprotocol/sdk/types.js";
// @ts-types="@modelcontextprotocol/sdk/shared/protocol"
export type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
