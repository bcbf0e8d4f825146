/**
 * @module
 * The setup wizard over MCP: `cmesh_setup_status`, `cmesh_setup_plan`, `cmesh_setup_apply`,
 * `cmesh_setup_start_daemon`, `cmesh_setup_handshake`. They let the user's agent take "help
 * me set up cmesh" from nothing to a proven round trip, with the user confirming each change.
 *
 * They are always served (not only while setup is incomplete): MCP clients read the tool
 * list once per session, the same tools diagnose later trouble and add new peers, and none
 * of them needs the daemon except the handshake. Every change is gated: the config is written
 * only by `cmesh_setup_apply` echoing the hash of a plan this server showed, and the service
 * is installed only by `cmesh_setup_start_daemon`. The logic lives in `src/setup/` (shared
 * with `cmesh doctor`), imported on first use so `cmesh mcp` still starts fast.
 *
 * @example
 * ```ts
 * import { McpServer } from "../deps/mcp.ts";
 * import { registerSetupTools, type SetupToolContext } from "./setup_tools.ts";
 * declare const control: SetupToolContext["control"];
 * const server = new McpServer({ name: "cmesh", version: "1" });
 * registerSetupTools(server, { control, configFile: "/home/ann/.config/cmesh/config.toml" });
 * ```
 */
import type { McpServer } from "../deps/mcp.ts";
import type { PlanBook } from "../setup/apply.ts";
import type { SetupToolContext } from "./setup/common.ts";
import { registerConfigTools } from "./setup/config_tools.ts";
import { registerRunTools } from "./setup/run_tools.ts";

export type { SetupToolContext } from "./setup/common.ts";

/** The wizard's tool names, in registration order. */
export const SETUP_TOOL_NAMES = [
  "cmesh_setup_status",
  "cmesh_setup_plan",
  "cmesh_setup_apply",
  "cmesh_setup_start_daemon",
  "cmesh_setup_handshake",
] as const;

/** Registers the wizard tools. `book` keeps the plans shown, so apply can check the hash. */
export function registerSetupTools(
  server: McpServer,
  ctx: SetupToolContext,
  book?: PlanBook,
): void {
  let plans: PlanBook | undefined = book;
  const planBook = async () => plans ??= new (await import("../setup/apply.ts")).PlanBook();
  registerConfigTools(server, ctx, planBook);
  registerRunTools(server, ctx);
}
