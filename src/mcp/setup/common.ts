/**
 * @module
 * What the setup tool modules share: their context (the config file that locates everything),
 * the error result, and a loose object schema for nested structured content.
 *
 * @example
 * ```ts
 * import { configFileOf, fail, type SetupToolContext } from "./common.ts";
 * async function refuse(ctx: SetupToolContext) {
 *   const file = await configFileOf(ctx);
 *   return fail("invalid_config", `cannot use ${file}`);
 * }
 * ```
 */
import { z } from "../../deps/zod.ts";
import type { CallToolResult } from "../../deps/mcp.ts";
import { LazyControl } from "../control.ts";
import type { ToolContext } from "../tools/common.ts";

/** What the wizard tools need: the config file (the daemon is reached through it). */
export interface SetupToolContext extends ToolContext {
  configFile?: string;
}

/** An `isError` result ending in a machine-readable `[error <code>]` line. */
export function fail(code: string, message: string): CallToolResult {
  return { content: [{ type: "text", text: `${message}\n[error ${code}]` }], isError: true };
}

/** The config file: the context's, the lazy control client's, else CMESH_CONFIG or the default. */
export async function configFileOf(ctx: SetupToolContext): Promise<string> {
  if (ctx.configFile) return ctx.configFile;
  if (ctx.control instanceof LazyControl) return ctx.control.configFile;
  const { currentPaths } = await import("../../config/paths.ts");
  return Deno.env.get("CMESH_CONFIG") || currentPaths().configFile;
}

/** Any JSON object (nested structured content). */
export const Loose = z.record(z.string(), z.unknown());
