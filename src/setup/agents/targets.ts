/**
 * @module
 * The coding agents cmesh can register its MCP server with, where each keeps its MCP
 * configuration, and how to tell that one is installed. Pure: paths come from the OS and env
 * passed in.
 *
 * | agent | file | servers table |
 * | --- | --- | --- |
 * | Claude Code (user scope) | `~/.claude.json` (`$CLAUDE_CONFIG_DIR/.claude.json`) | `mcpServers` |
 * | Codex | `~/.codex/config.toml` (`$CODEX_HOME/config.toml`) | `[mcp_servers.<name>]` |
 * | Gemini CLI | `~/.gemini/settings.json` | `mcpServers` |
 * | Cursor | `~/.cursor/mcp.json` | `mcpServers` |
 * | Claude Desktop | per OS `Claude/claude_desktop_config.json` | `mcpServers` |
 *
 * @example
 * ```ts
 * import { agentTargets } from "./targets.ts";
 * agentTargets("linux", { HOME: "/home/ann" }).find((t) => t.id === "codex")?.file;
 * // "/home/ann/.codex/config.toml"
 * ```
 */
import { posix, win32 } from "node:path";

/** Agents cmesh knows how to register with. */
export const AGENT_IDS = ["claude-code", "codex", "gemini", "cursor", "claude-desktop"] as const;
/** One of {@link AGENT_IDS}. */
export type AgentId = typeof AGENT_IDS[number];

/** Where one agent keeps its MCP servers and how to detect it. */
export interface AgentTarget {
  id: AgentId;
  /** Display name. */
  name: string;
  /** The config file cmesh edits. */
  file: string;
  format: "json" | "toml";
  /** Any of these existing means the agent is installed. */
  detectPaths: string[];
  /** Any of these on PATH means the agent is installed. */
  detectBinaries: string[];
  /** The command that lists MCP servers, for the user to check (when the agent has one). */
  listCommand?: string;
}

/** The agents for an OS and environment. Throws when no home directory is known. */
export function agentTargets(
  os: typeof Deno.build.os,
  env: Record<string, string | undefined>,
): AgentTarget[] {
  const windows = os === "windows";
  const p = windows ? win32 : posix;
  const home = windows ? env.USERPROFILE ?? env.HOME : env.HOME ?? env.USERPROFILE;
  if (!home) throw new Error("cannot find the home directory (HOME / USERPROFILE)");
  const abs = (v: string | undefined) => (v && p.isAbsolute(v) ? v : undefined);
  const claudeDir = abs(env.CLAUDE_CONFIG_DIR);
  const codexHome = abs(env.CODEX_HOME) ?? p.join(home, ".codex");
  const desktopDir = os === "darwin"
    ? p.join(home, "Library", "Application Support", "Claude")
    : windows
    ? p.join(abs(env.APPDATA) ?? p.join(home, "AppData", "Roaming"), "Claude")
    : p.join(abs(env.XDG_CONFIG_HOME) ?? p.join(home, ".config"), "Claude");
  return [
    {
      id: "claude-code",
      name: "Claude Code",
      file: p.join(claudeDir ?? home, ".claude.json"),
      format: "json",
      detectPaths: [
        p.join(claudeDir ?? home, ".claude.json"),
        claudeDir ?? p.join(home, ".claude"),
      ],
      detectBinaries: ["claude"],
      listCommand: "claude mcp list",
    },
    {
      id: "codex",
      name: "Codex",
      file: p.join(codexHome, "config.toml"),
      format: "toml",
      detectPaths: [codexHome],
      detectBinaries: ["codex"],
      listCommand: "codex mcp list",
    },
    {
      id: "gemini",
      name: "Gemini CLI",
      file: p.join(home, ".gemini", "settings.json"),
      format: "json",
      detectPaths: [p.join(home, ".gemini")],
      detectBinaries: ["gemini"],
      listCommand: "gemini mcp list",
    },
    {
      id: "cursor",
      name: "Cursor",
      file: p.join(home, ".cursor", "mcp.json"),
      format: "json",
      detectPaths: [p.join(home, ".cursor")],
      detectBinaries: [],
    },
    {
      id: "claude-desktop",
      name: "Claude Desktop",
      file: p.join(desktopDir, "claude_desktop_config.json"),
      format: "json",
      detectPaths: [desktopDir],
      detectBinaries: [],
    },
  ];
}

/** The command an agent starts: `cmesh mcp` (or its from-source form). */
export interface McpLaunch {
  command: string;
  args: string[];
  /** Only `CMESH_HOME` / `CMESH_CONFIG`, when the installing shell had them. */
  env: Record<string, string>;
}

/** The server entry as an agent's config stores it. */
export function entryFor(id: AgentId, launch: McpLaunch): Record<string, unknown> {
  const env = Object.keys(launch.env).length ? { env: { ...launch.env } } : {};
  if (id === "claude-code") {
    // The shape `claude mcp add --scope user` writes, so `claude mcp list` shows it as its own.
    return {
      type: "stdio",
      command: launch.command,
      args: [...launch.args],
      env: { ...launch.env },
    };
  }
  if (id === "codex") {
    return {
      command: launch.command,
      args: [...launch.args],
      ...env,
      startup_timeout_sec: CODEX_STARTUP_TIMEOUT_S,
      tool_timeout_sec: CODEX_TOOL_TIMEOUT_S,
      // `codex exec` runs with approval policy "never" and refuses a tool not annotated
      // read-only unless it is approved here (docs/mcp-tools.md, Codex).
      tools: Object.fromEntries(
        CODEX_APPROVED_TOOLS.map((t) => [t, { approval_mode: "approve" }]),
      ),
    };
  }
  return { command: launch.command, args: [...launch.args], ...env };
}

/**
 * Codex's default MCP start-up timeout is 10 s. A cold first start of cmesh from source (Deno
 * type-checks and caches it) took over 20 s on a loaded 2-core machine, and codex then runs
 * without the cmesh tools; a server that starts fast is not slowed by a larger bound.
 */
export const CODEX_STARTUP_TIMEOUT_S = 60;
/** Above the longest `wait_seconds` (600, `MAX_WAIT_S` in src/mcp/tools/common.ts). */
export const CODEX_TOOL_TIMEOUT_S = 660;
/** The cmesh tools that are not read-only, so headless Codex needs them approved. */
export const CODEX_APPROVED_TOOLS = ["cmesh_delegate", "cmesh_cancel"] as const;
