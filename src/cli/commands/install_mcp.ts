/**
 * @module
 * `cmesh install-mcp`: register the stdio MCP server `cmesh mcp` with the coding agents
 * installed on this machine.
 */
import { configFileFor, userPath } from "../context.ts";
import { currentSelf } from "../../service/spec.ts";
import { mcpLaunch } from "../../setup/agents/launch.ts";
import { type AgentResult, registerAgents } from "../../setup/agents/register.ts";
import { AGENT_IDS, type AgentId } from "../../setup/agents/targets.ts";
import { CliError, type CommonOptions, emit, EXIT } from "../output.ts";

/** Options of `install-mcp`. */
export interface InstallMcpOptions extends CommonOptions {
  agent?: string[];
  command?: string;
  dryRun?: boolean;
}

/** Validates `--agent` values. */
export function agentList(values: string[] | undefined): AgentId[] | undefined {
  if (!values) return undefined;
  const bad = values.filter((v) => !(AGENT_IDS as readonly string[]).includes(v));
  if (bad.length) {
    throw new CliError(
      `unknown agent ${bad.join(", ")} (known: ${AGENT_IDS.join(", ")})`,
      EXIT.USAGE,
      "usage",
    );
  }
  return values as AgentId[];
}

/** One line per agent for humans. */
export function describeResults(results: AgentResult[], dryRun: boolean): string {
  const verb = (r: AgentResult) =>
    dryRun && ["added", "updated", "removed"].includes(r.action)
      ? `would be ${r.action}`
      : r.action;
  return results.map((r) => {
    const extra = r.action === "skipped"
      ? ` (${r.message})`
      : r.action === "error"
      ? `: ${r.message}`
      : `: ${r.file}${r.backup ? ` (backup: ${r.backup})` : ""}${
        r.reformatted ? " [comments in this file could not be kept]" : ""
      }`;
    return `${r.name.padEnd(15)} ${verb(r)}${extra}`;
  }).join("\n");
}

/** `cmesh install-mcp`. */
export async function installMcp(opts: InstallMcpOptions): Promise<void> {
  const env = Deno.env.toObject();
  const launch = mcpLaunch(currentSelf(), {
    command: opts.command ? userPath(opts.command) : undefined,
    configFile: opts.config ? configFileFor(opts) : undefined,
    env,
  });
  const results = await registerAgents({
    os: Deno.build.os,
    env,
    launch,
    only: agentList(opts.agent),
    dryRun: opts.dryRun,
  });
  const registered = results.filter((r) => ["added", "updated", "unchanged"].includes(r.action));
  const errors = results.filter((r) => r.action === "error");
  emit(opts, { launch, dry_run: !!opts.dryRun, agents: results }, () =>
    [
      `MCP server: ${[launch.command, ...launch.args].join(" ")}`,
      describeResults(results, !!opts.dryRun),
      registered.length === 0 && errors.length === 0
        ? "no coding agent detected here; name one with --agent (e.g. --agent claude-code)"
        : registered.length
        ? `restart the agent to load it, then ask it: "help me set up cmesh"`
        : "",
    ].filter(Boolean).join("\n"));
  if (errors.length) Deno.exitCode = EXIT.FAILURE;
}
