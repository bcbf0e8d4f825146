/**
 * `cmesh install-mcp` and `cmesh uninstall` through the real CLI in a temporary HOME, checked
 * by the agents' own CLIs: after install, `claude mcp list` and `codex mcp list` show cmesh
 * next to an entry the user had; a second install changes nothing; after uninstall cmesh is
 * gone and the user's entry is still there. The agent CLI part skips (with a message) when
 * `claude` / `codex` are not installed (`.ci/run` installs them from npm).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { MAX_WAIT_S } from "../../src/mcp/tools/common.ts";
import { CODEX_STARTUP_TIMEOUT_S } from "../../src/setup/agents/targets.ts";
import { tempDir } from "../support/daemon.ts";
import { run } from "../support/proc.ts";
import { cleanEnv, cmesh, codexMcpList, json, listDir, mustSucceed, which } from "./_helpers.ts";

interface AgentOut {
  id: string;
  action: string;
  backup?: string;
}

const claude = which("claude");
const codex = which("codex");

Deno.test("install-mcp / uninstall with --json: actions per agent, idempotent, exit codes", async () => {
  const dir = await tempDir("cmesh-agents-");
  try {
    const home = dir.path;
    await Deno.mkdir(join(home, ".gemini"));
    await Deno.writeTextFile(
      join(home, ".gemini", "settings.json"),
      JSON.stringify({ theme: "x", mcpServers: { keep: { command: "k" } } }),
    );
    // PATH without agent CLIs: only the .gemini dir makes an agent "installed".
    const env = cleanEnv(home, { PATH: join(home, "no-bin") });
    const first = await cmesh(["install-mcp", "--json", "--command", "/opt/cmesh"], env);
    assert.equal(first.code, 0, first.stderr);
    const body = json<{ launch: { command: string }; agents: AgentOut[] }>(first);
    assert.equal(body.launch.command, "/opt/cmesh");
    const gemini = body.agents.find((a) => a.id === "gemini")!;
    assert.equal(gemini.action, "added");
    assert.ok(gemini.backup);
    assert.equal(body.agents.find((a) => a.id === "codex")!.action, "skipped");

    const second = await cmesh(["install-mcp", "--json", "--command", "/opt/cmesh"], env);
    assert.equal(
      json<{ agents: AgentOut[] }>(second).agents.find((a) => a.id === "gemini")!.action,
      "unchanged",
    );

    const human = await cmesh(["install-mcp", "--dry-run", "--agent", "cursor"], env);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /Cursor +would be added/);
    assert.deepEqual(await listDir(join(home, ".cursor")), [], "dry run wrote nothing");

    const bad = await cmesh(["install-mcp", "--agent", "vim"], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown agent vim/);

    const un = await cmesh(["uninstall", "--json"], env);
    assert.equal(un.code, 0, un.stderr);
    assert.equal(
      json<{ agents: AgentOut[] }>(un).agents.find((a) => a.id === "gemini")!.action,
      "removed",
    );
    const settings = JSON.parse(await Deno.readTextFile(join(home, ".gemini", "settings.json")));
    assert.deepEqual(settings, { theme: "x", mcpServers: { keep: { command: "k" } } });
  } finally {
    await dir.cleanup();
  }
});

Deno.test({
  name:
    "the real `claude mcp list` and `codex mcp list` see cmesh after install-mcp, and not after uninstall",
  ignore: !claude && !codex,
  async fn() {
    if (!claude) console.warn("SKIP claude part: the claude CLI is not installed");
    if (!codex) console.warn("SKIP codex part: the codex CLI is not installed");
    const dir = await tempDir("cmesh-agents-");
    try {
      const home = dir.path;
      const env = cleanEnv(home);
      // Entries the user already had, added by the agents' own CLIs.
      if (claude) {
        await mustSucceed(
          claude,
          ["mcp", "add", "--scope", "user", "mine", "--", "/bin/echo", "hi"],
          env,
        );
      }
      if (codex) await mustSucceed(codex, ["mcp", "add", "mine", "--", "/bin/echo", "hi"], env);

      const install = await cmesh(["install-mcp"], env);
      assert.equal(install.code, 0, install.stderr);
      if (claude) assert.match(install.stdout, /Claude Code +added/);
      if (codex) assert.match(install.stdout, /Codex +added/);
      const again = await cmesh(["install-mcp"], env);
      if (claude) assert.match(again.stdout, /Claude Code +unchanged/);
      if (codex) assert.match(again.stdout, /Codex +unchanged/);

      if (claude) {
        const list = await mustSucceed(claude, ["mcp", "list"], env);
        assert.match(list, /^cmesh: .*src\/main\.ts mcp/m, list);
        assert.match(list, /^mine: \/bin\/echo hi/m, list);
      }
      if (codex) {
        const list = await codexMcpList(codex, env);
        assert.deepEqual(list.map((s) => s.name).sort(), ["cmesh", "mine"]);
        const c = list.find((s) => s.name === "cmesh")!;
        assert.equal(c.transport.args.at(-1), "mcp");
        // The timeouts and approvals docs/mcp-tools.md recommends, as codex itself reads them.
        const got = JSON.parse(await mustSucceed(codex, ["mcp", "get", "cmesh", "--json"], env));
        assert.equal(got.startup_timeout_sec, CODEX_STARTUP_TIMEOUT_S);
        assert.equal(got.tool_timeout_sec, MAX_WAIT_S + 60);
        const file = join(home, ".codex", "config.toml");
        const written = parseToml(await Deno.readTextFile(file)) as {
          mcp_servers: { cmesh: { tools: Record<string, { approval_mode: string }> } };
        };
        assert.deepEqual(JSON.parse(JSON.stringify(written.mcp_servers.cmesh.tools)), {
          cmesh_delegate: { approval_mode: "approve" },
          cmesh_cancel: { approval_mode: "approve" },
        });
        // codex validates approval_mode (a bad value fails `codex mcp list`), so the value
        // written above is one it accepts.
        const good = await Deno.readTextFile(file);
        await Deno.writeTextFile(
          file,
          good.replace('approval_mode = "approve"', 'approval_mode = "nope"'),
        );
        const bad = await run([codex, "mcp", "list"], { env, clearEnv: true });
        assert.notEqual(bad.code, 0, "codex accepted an invalid approval_mode");
        await Deno.writeTextFile(file, good);
      }

      const un = await cmesh(["uninstall"], env);
      assert.equal(un.code, 0, un.stderr);
      if (claude) {
        const list = await mustSucceed(claude, ["mcp", "list"], env);
        assert.doesNotMatch(list, /^cmesh:/m, list);
        assert.match(list, /^mine: \/bin\/echo hi/m, list);
      }
      if (codex) {
        const list = await codexMcpList(codex, env);
        assert.deepEqual(list.map((s) => s.name), ["mine"]);
      }
    } finally {
      await dir.cleanup();
    }
  },
});
