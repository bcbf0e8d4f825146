/**
 * @module
 * The MCP SDK (v1), client side, with real types under `deno check` (see `mcp.ts` for why
 * the `@ts-types` lines are needed). Used by tests and tools that drive `cmesh mcp`; kept
 * apart from the server side because `client/stdio.js` reads env vars at import time.
 *
 * @example
 * ```ts
 * import { Client, StdioClientTransport } from "./mcp_client.ts";
 * const client = new Client({ name: "t", version: "1" });
 * await client.connect(new StdioClientTransport({ command: "cmesh", args: ["mcp"] }));
 * ```
 */

// @ts-types="@modelcontextprotocol/sdk/client/index"
export { Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
export { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/types"
export type { CallToolResult, Progress, Tool } from "@modelcontextprotocol/sdk/types.js";
// @ts-types="@modelcontextprotocol/sdk/types"
export { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
