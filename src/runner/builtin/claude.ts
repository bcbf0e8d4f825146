/**
 * @module
 * The built-in Claude Code manifest (`claude -p`), following the observations in
 * `runners.md` (Claude Code 2.1.197). Flags per profile, and what each protects against,
 * are explained in `docs/runner-manifests.md`.
 *
 * @example
 * ```ts
 * import { claudeManifest } from "./claude.ts";
 * claudeManifest.profiles.query.args; // ["--tools", "Read,Grep,Glob", "--permission-mode", "dontAsk"]
 * ```
 */
import { parseManifest, type RunnerManifest } from "../manifest.ts";

/** Tools of the read-only profile: no Bash (read-only Bash still runs in every mode). */
const READ_TOOLS = "Read,Grep,Glob";

/** The built-in `claude` runner. */
export const claudeManifest: RunnerManifest = parseManifest({
  name: "claude",
  description: "Claude Code in print mode (claude -p), streaming JSON events",
  binary: "claude",
  install_hint: "install it with `npm i -g @anthropic-ai/claude-code`",
  version_args: ["--version"],
  // stream-json needs --verbose, else: "Error: When using --print, --output-format=stream-json
  // requires --verbose" (exit 1).
  base_args: [
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    // No settings file is read (only the machine's managed settings still apply): not a
    // repository's .claude/settings.json or settings.local.json (hooks that run commands at
    // SessionStart, UserPromptSubmit, PreToolUse; enableAllProjectMcpServers), and not
    // CLAUDE_CONFIG_DIR/settings.json either: runs can write that dir, so an earlier task could
    // plant hooks, an apiKeyHelper command or an `env` that redirects the model API there.
    "--setting-sources",
    "",
    // No MCP servers but those given with --mcp-config (none): the repository's .mcp.json
    // would otherwise start its servers as the worker's user.
    "--strict-mcp-config",
  ],
  profiles: {
    // Only Read/Grep/Glob exist, and dontAsk denies anything that would need a prompt.
    query: { args: ["--tools", READ_TOOLS, "--permission-mode", "dontAsk"] },
    // acceptEdits also auto-approves Bash writes inside cwd, so Bash is not offered here.
    edit: { args: ["--tools", `${READ_TOOLS},Edit,Write`, "--permission-mode", "acceptEdits"] },
    // acceptEdits alone still denies most commands ("requires approval"); --allowedTools
    // Bash approves every Bash command.
    build: {
      args: [
        "--tools",
        `${READ_TOOLS},Edit,Write,Bash`,
        "--permission-mode",
        "acceptEdits",
        "--allowedTools",
        "Bash",
      ],
    },
    // Reachable only when the config enables profile `full` (policy decides, not this file).
    // As root, Claude refuses this unless IS_SANDBOX=1 is set (config env.set).
    full: { args: ["--permission-mode", "bypassPermissions"] },
  },
  // `--` ends options: Claude's --tools/--allowedTools are variadic and would otherwise
  // swallow a prompt that follows them. stdin stays /dev/null (an open pipe costs 3 s).
  prompt: { via: "arg", end_of_options: true },
  output: "claude-stream-json",
  // SIGINT lets Claude kill its own tool processes (they run under setsid, out of reach of a
  // process-group kill) and print a result; SIGTERM mid-tool orphans them.
  cancel: { signals: ["SIGINT", "SIGTERM", "SIGKILL"], grace_ms: 2000 },
  env: {
    pass: [
      "ANTHROPIC_API_KEY",
      "ANTHROPIC_AUTH_TOKEN",
      "ANTHROPIC_BASE_URL",
      "ANTHROPIC_MODEL",
      "CLAUDE_CODE_OAUTH_TOKEN",
    ],
    set: {
      // The only setting that removed every call to api.anthropic.com (also stops the updater).
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      // Unset, a 401 is retried ~11 times with backoff (> 60 s); bounded here.
      CLAUDE_CODE_MAX_RETRIES: "2",
    },
  },
  state_dir_env: "CLAUDE_CONFIG_DIR",
  // With CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 the model API is the only host Claude
  // Code contacts headless; a configured ANTHROPIC_BASE_URL adds its own host.
  egress: {
    default: "model",
    hosts: ["api.anthropic.com:443"],
    url_env: ["ANTHROPIC_BASE_URL"],
  },
}, "builtin:claude");
