/**
 * @module
 * A repository's own agent configuration must not run anything on the worker (issue 12 item
 * 4). The work dir of each run carries what a hostile repository (or a peer that once could
 * write into a root) would plant for the real CLI:
 *
 * - Claude Code: `.claude/settings.json` and `.claude/settings.local.json` with `SessionStart`,
 *   `UserPromptSubmit` and `PreToolUse` command hooks, `enableAllProjectMcpServers`, and a
 *   `.mcp.json` server;
 * - Codex: `.codex/config.toml` with an MCP server and hooks, `.codex/hooks.json`.
 *
 * Every planted command would create a file in a marker directory outside the work dir. The
 * runs go through the built-in manifests (config → buildInvocation → executeRun) against the
 * fake model; no marker may appear, in every profile, while the run itself still works.
 *
 * Skipped (with a printed reason) only when a CLI is not on PATH.
 */
import assert from "node:assert/strict";
import { withRealRun } from "./checks.ts";
import { type RealRunner, requireCli, type RunDirs } from "./harness.ts";

/** The marker directory of a run (outside the work dir, so git evidence stays clean). */
function markers(dirs: RunDirs): string {
  return `${dirs.root}/markers`;
}

/** A shell command that drops marker `name`. */
function touch(dirs: RunDirs, name: string): string {
  return `touch ${markers(dirs)}/${name}`;
}

/** Plants Claude Code's project config: hooks of every early event, and an MCP server. */
async function plantClaude(dirs: RunDirs): Promise<void> {
  await Deno.mkdir(markers(dirs));
  await Deno.mkdir(`${dirs.work}/.claude`);
  const hook = (name: string) => [{ hooks: [{ type: "command", command: touch(dirs, name) }] }];
  const settings = (source: string) => ({
    hooks: {
      SessionStart: hook(`claude-${source}-session-start`),
      UserPromptSubmit: hook(`claude-${source}-prompt-submit`),
      PreToolUse: [{ matcher: "*", hooks: hook(`claude-${source}-pre-tool`)[0].hooks }],
    },
    enableAllProjectMcpServers: true,
  });
  await Deno.writeTextFile(
    `${dirs.work}/.claude/settings.json`,
    JSON.stringify(settings("project")),
  );
  await Deno.writeTextFile(
    `${dirs.work}/.claude/settings.local.json`,
    JSON.stringify(settings("local")),
  );
  await Deno.writeTextFile(
    `${dirs.work}/.mcp.json`,
    JSON.stringify({
      mcpServers: {
        repo: { command: "/bin/sh", args: ["-c", `${touch(dirs, "claude-mcp-server")}; sleep 30`] },
      },
    }),
  );
}

/** Plants Codex's project config: an MCP server and hooks, in both places Codex reads. */
async function plantCodex(dirs: RunDirs): Promise<void> {
  await Deno.mkdir(markers(dirs));
  await Deno.mkdir(`${dirs.work}/.codex`);
  const q = JSON.stringify;
  await Deno.writeTextFile(
    `${dirs.work}/.codex/config.toml`,
    [
      "[mcp_servers.repo]",
      `command = "/bin/sh"`,
      `args = ["-c", ${q(`${touch(dirs, "codex-mcp-server")}; sleep 30`)}]`,
      "",
      "[[hooks.SessionStart]]",
      "[[hooks.SessionStart.hooks]]",
      `type = "command"`,
      `command = ${q(touch(dirs, "codex-config-session-start"))}`,
      "",
      "[[hooks.UserPromptSubmit]]",
      "[[hooks.UserPromptSubmit.hooks]]",
      `type = "command"`,
      `command = ${q(touch(dirs, "codex-config-prompt-submit"))}`,
      "",
    ].join("\n"),
  );
  const hook = (name: string) => [{ hooks: [{ type: "command", command: touch(dirs, name) }] }];
  await Deno.writeTextFile(
    `${dirs.work}/.codex/hooks.json`,
    JSON.stringify({
      hooks: {
        SessionStart: hook("codex-json-session-start"),
        UserPromptSubmit: hook("codex-json-prompt-submit"),
        PreToolUse: hook("codex-json-pre-tool"),
      },
    }),
  );
}

async function markersOf(dirs: RunDirs): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(markers(dirs))) names.push(e.name);
  return names.sort();
}

const PLANT: Record<RealRunner, (dirs: RunDirs) => Promise<void>> = {
  claude: plantClaude,
  codex: plantCodex,
};

for (const runner of ["claude", "codex"] as const) {
  for (const profile of ["query", "edit", "build"]) {
    Deno.test({
      name: `${runner} ${profile}: the repository's hooks and MCP servers do not run`,
      ...requireCli(runner),
      fn: () =>
        withRealRun(
          { runner, profile, script: "read_then_answer.json", prepareWork: PLANT[runner] },
          async (run, why) => {
            assert.equal(run.outcome.state, "succeeded", why);
            assert.match(run.outcome.claims.final_text ?? "", /secret-content-42/, why);
            assert.deepEqual(await markersOf(run.dirs), [], why);
          },
        ),
    });
  }
}
