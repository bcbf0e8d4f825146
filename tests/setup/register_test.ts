/**
 * Registering with agents on disk (temp HOME, PATH empty so only config dirs count): which
 * agents are detected, backups before every edit and none when nothing changes, other
 * entries intact, `--agent` forcing an undetected agent, unregistering, and a broken file
 * reported and left alone.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "smol-toml";
import {
  agentRegistrations,
  registerAgents,
  unregisterAgents,
} from "../../src/setup/agents/register.ts";
import { agentTargets, entryFor } from "../../src/setup/agents/targets.ts";
import { mcpLaunch } from "../../src/setup/agents/launch.ts";
import { tempDir } from "../support/daemon.ts";
import { listDir } from "./_helpers.ts";

const launch = { command: "/opt/cmesh/cmesh", args: ["mcp"], env: {} };
let tick = 0;
const now = () => new Date(Date.UTC(2026, 0, 1, 0, 0, tick++));

async function seed(home: string) {
  await Deno.writeTextFile(
    join(home, ".claude.json"),
    JSON.stringify(
      { userID: "u1", mcpServers: { other: { type: "stdio", command: "o" } } },
      null,
      2,
    ),
  );
  await Deno.mkdir(join(home, ".codex"));
  await Deno.writeTextFile(
    join(home, ".codex", "config.toml"),
    '# mine\n[mcp_servers.other]\ncommand = "o"\n',
  );
  await Deno.mkdir(join(home, ".cursor"));
}

/** Runs `fn` with a fresh temporary HOME (seeded with {@link seed} when asked), removed after. */
async function inHome(
  seeded: boolean,
  fn: (home: string, env: { HOME: string; PATH: string }) => Promise<void>,
): Promise<void> {
  const dir = await tempDir();
  try {
    if (seeded) await seed(dir.path);
    await fn(dir.path, { HOME: dir.path, PATH: "" });
  } finally {
    await dir.cleanup();
  }
}

Deno.test("register: detected agents get cmesh, each edited file is backed up, others are skipped", () =>
  inHome(true, async (home, env) => {
    const results = await registerAgents({ os: "linux", env, launch, now });
    const by = Object.fromEntries(results.map((r) => [r.id, r]));
    assert.equal(by["claude-code"].action, "added");
    assert.equal(by.codex.action, "added");
    assert.equal(by.cursor.action, "added");
    assert.equal(by.gemini.action, "skipped");
    assert.equal(by["claude-desktop"].action, "skipped");
    assert.ok(by["claude-code"].backup && by.codex.backup, "existing files are backed up");
    assert.equal(by.cursor.backup, undefined, "a new file has nothing to back up");

    const claude = JSON.parse(await Deno.readTextFile(join(home, ".claude.json")));
    assert.equal(claude.userID, "u1");
    assert.deepEqual(claude.mcpServers.other, { type: "stdio", command: "o" });
    assert.deepEqual(claude.mcpServers.cmesh, entryFor("claude-code", launch));
    const backup = JSON.parse(await Deno.readTextFile(by["claude-code"].backup!));
    assert.equal(backup.mcpServers.cmesh, undefined, "the backup is the file as it was");

    const codexText = await Deno.readTextFile(join(home, ".codex", "config.toml"));
    assert.ok(codexText.startsWith('# mine\n[mcp_servers.other]\ncommand = "o"\n'));
    const codex = parse(codexText) as { mcp_servers: Record<string, unknown> };
    assert.deepEqual(JSON.parse(JSON.stringify(codex.mcp_servers.cmesh)), {
      command: "/opt/cmesh/cmesh",
      args: ["mcp"],
      startup_timeout_sec: 60,
      tool_timeout_sec: 660,
      tools: {
        cmesh_delegate: { approval_mode: "approve" },
        cmesh_cancel: { approval_mode: "approve" },
      },
    });

    const cursorStat = await Deno.stat(join(home, ".cursor", "mcp.json"));
    assert.equal(cursorStat.mode! & 0o777, 0o600, "new files are private");
  }));

Deno.test("register twice: the second run changes nothing and makes no backup", () =>
  inHome(true, async (home, env) => {
    await registerAgents({ os: "linux", env, launch, now });
    const filesBefore = [await listDir(home), await listDir(join(home, ".codex"))];
    const claudeBefore = await Deno.readTextFile(join(home, ".claude.json"));
    const again = await registerAgents({ os: "linux", env, launch, now });
    for (const r of again.filter((r) => r.action !== "skipped")) {
      assert.equal(r.action, "unchanged", r.name);
      assert.equal(r.backup, undefined);
    }
    assert.deepEqual([await listDir(home), await listDir(join(home, ".codex"))], filesBefore);
    assert.equal(await Deno.readTextFile(join(home, ".claude.json")), claudeBefore);
    const moved = await registerAgents({
      os: "linux",
      env,
      launch: { ...launch, command: "/new/cmesh" },
      now,
    });
    assert.equal(moved.find((r) => r.id === "codex")!.action, "updated");
  }));

Deno.test("register --agent forces an undetected agent; dry run writes nothing", () =>
  inHome(false, async (home, env) => {
    const dry = await registerAgents({ os: "linux", env, launch, only: ["gemini"], dryRun: true });
    assert.equal(dry.find((r) => r.id === "gemini")!.action, "added");
    assert.deepEqual(await listDir(home), [], "dry run wrote nothing");
    const r = await registerAgents({
      os: "linux",
      env,
      launch,
      only: ["gemini", "claude-desktop"],
    });
    assert.equal(r.find((x) => x.id === "gemini")!.action, "added");
    assert.equal(r.find((x) => x.id === "codex")!.action, "skipped");
    const desktop = agentTargets("linux", env).find((t) => t.id === "claude-desktop")!;
    assert.equal(desktop.file, join(home, ".config", "Claude", "claude_desktop_config.json"));
    assert.deepEqual(JSON.parse(await Deno.readTextFile(desktop.file)).mcpServers.cmesh, {
      command: "/opt/cmesh/cmesh",
      args: ["mcp"],
    });
  }));

Deno.test("unregister removes cmesh everywhere it is, backs up, keeps other entries", () =>
  inHome(true, async (home, env) => {
    await registerAgents({ os: "linux", env, launch, now });
    const regs = await agentRegistrations("linux", env);
    assert.deepEqual(
      regs.filter((r) => r.registered).map((r) => r.id).sort(),
      ["claude-code", "codex", "cursor"],
    );
    const out = await unregisterAgents({ os: "linux", env, now });
    const by = Object.fromEntries(out.map((r) => [r.id, r]));
    assert.equal(by["claude-code"].action, "removed");
    assert.equal(by.codex.action, "removed");
    assert.equal(by.gemini.action, "absent");
    assert.ok(by.codex.backup);
    const claude = JSON.parse(await Deno.readTextFile(join(home, ".claude.json")));
    assert.deepEqual(Object.keys(claude.mcpServers), ["other"]);
    assert.equal(
      await Deno.readTextFile(join(home, ".codex", "config.toml")),
      '# mine\n[mcp_servers.other]\ncommand = "o"\n',
    );
    assert.ok((await agentRegistrations("linux", env)).every((r) => !r.registered));
  }));

Deno.test("a broken agent file is reported as an error and left untouched", () =>
  inHome(false, async (home, env) => {
    await Deno.writeTextFile(join(home, ".claude.json"), "{ not json");
    const out = await registerAgents({ os: "linux", env, launch });
    const c = out.find((r) => r.id === "claude-code")!;
    assert.equal(c.action, "error");
    assert.match(c.message!, /\.claude\.json: is not valid JSON/);
    assert.equal(await Deno.readTextFile(join(home, ".claude.json")), "{ not json");
    assert.deepEqual(await listDir(home), [".claude.json"], "no backup, no temp file left");
  }));

Deno.test("CODEX_HOME and CLAUDE_CONFIG_DIR move the files; the launch carries CMESH_HOME", () => {
  const t = agentTargets("linux", {
    HOME: "/h",
    CODEX_HOME: "/c",
    CLAUDE_CONFIG_DIR: "/cl",
  });
  assert.equal(t.find((x) => x.id === "codex")!.file, "/c/config.toml");
  assert.equal(t.find((x) => x.id === "claude-code")!.file, "/cl/.claude.json");
  const mac = agentTargets("darwin", { HOME: "/Users/a" }).find((x) => x.id === "claude-desktop")!;
  assert.equal(mac.file, "/Users/a/Library/Application Support/Claude/claude_desktop_config.json");
  const win = agentTargets("windows", {
    USERPROFILE: "C:\\Users\\a",
    APPDATA: "C:\\Users\\a\\AppData\\Roaming",
  })
    .find((x) => x.id === "claude-desktop")!;
  assert.equal(win.file, "C:\\Users\\a\\AppData\\Roaming\\Claude\\claude_desktop_config.json");

  const l = mcpLaunch({ standalone: true, execPath: "/bin/cmesh" }, {
    env: { CMESH_HOME: "/ch", PATH: "/x" },
  });
  assert.deepEqual(l, { command: "/bin/cmesh", args: ["mcp"], env: { CMESH_HOME: "/ch" } });
  const explicit = mcpLaunch({ standalone: false, execPath: "/usr/bin/deno", repoRoot: "/r" }, {
    command: "/home/a/.local/bin/cmesh",
    configFile: "/etc/c.toml",
    env: {},
  });
  assert.deepEqual(explicit, {
    command: "/home/a/.local/bin/cmesh",
    args: ["mcp", "--config", "/etc/c.toml"],
    env: {},
  });
  assert.deepEqual(entryFor("claude-code", l), {
    type: "stdio",
    command: "/bin/cmesh",
    args: ["mcp"],
    env: { CMESH_HOME: "/ch" },
  });
});
