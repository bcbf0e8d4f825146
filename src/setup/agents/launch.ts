/**
 * @module
 * The command agents run to start cmesh's MCP server: this binary's `cmesh mcp` (or its
 * from-source form), an explicit executable the installer names, plus the `CMESH_HOME` /
 * `CMESH_CONFIG` of the installing shell so the agent finds the same daemon.
 *
 * @example
 * ```ts
 * import { mcpLaunch } from "./launch.ts";
 * mcpLaunch({ standalone: true, execPath: "/home/ann/.local/bin/cmesh" }, { env: {} });
 * // { command: "/home/ann/.local/bin/cmesh", args: ["mcp"], env: {} }
 * ```
 */
import { cmeshInvocation, type SelfInfo } from "../../service/spec.ts";
import type { McpLaunch } from "./targets.ts";

/** Options of {@link mcpLaunch}. */
export interface LaunchOptions {
  /** An explicit cmesh executable (the installer passes the path it installed to). */
  command?: string;
  /** A config file chosen explicitly; passed as `--config`. */
  configFile?: string;
  /** The installing shell's environment (only `CMESH_HOME`/`CMESH_CONFIG` are carried). */
  env: Record<string, string | undefined>;
}

/** The launch command for agents. */
export function mcpLaunch(self: SelfInfo, opts: LaunchOptions): McpLaunch {
  const args = ["mcp", ...(opts.configFile ? ["--config", opts.configFile] : [])];
  const inv = opts.command ? { program: opts.command, args } : cmeshInvocation(self, args);
  const env: Record<string, string> = {};
  for (const name of ["CMESH_HOME", "CMESH_CONFIG"]) {
    const v = opts.env[name];
    if (v) env[name] = v;
  }
  return { command: inv.program, args: inv.args, env };
}
