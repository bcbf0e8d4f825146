/**
 * @module
 * What the CLI says is what it does (issue 14 item 7), through the real entry point:
 * `--config` must exist (except for `config init`) and a relative one is taken from the
 * user's directory (`INIT_CWD`, as `deno task` sets it); bad flag values are usage errors
 * (exit 2) before any daemon is asked; `--json` help says what `--json` does; backups of
 * edited files are rotated; `service uninstall` reports a service it could not stop; the
 * unknown-peer hint names a way to add peers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { outboundDecision } from "../../src/policy/outbound.ts";
import { Config } from "../../src/config/schema.ts";
import { BACKUPS_KEPT } from "../../src/util/backups.ts";
import { calls, cleanEnv, cmesh, fakeProgram, json } from "../setup/_helpers.ts";
import { tempDir } from "../support/daemon.ts";
import { jsonOf, runCmesh, withHome } from "./cli_harness.ts";

Deno.test("--config that does not exist: exit 2 (config_not_found) for every reader; config init creates it", async () => {
  await withHome(async (home) => {
    const missing = join(home, "nope.toml");
    for (const args of [["config", "show"], ["config", "path"], ["doctor"], ["tasks", "list"]]) {
      const r = await runCmesh([...args, "--config", missing, "--json"], { home });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      const err = jsonOf(r).error as { code: string; message: string; file: string };
      assert.equal(err.code, "config_not_found");
      assert.equal(err.file, missing);
      assert.match(err.message, /does not exist \(create it with: cmesh config init --config/);
    }
    const init = await runCmesh(["config", "init", "--config", missing, "--json"], { home });
    assert.equal(init.code, 0, init.stderr);
    assert.equal((jsonOf(init) as { written: string }).written, missing);
    const show = await runCmesh(["config", "show", "--config", missing, "--json"], { home });
    assert.equal(show.code, 0, show.stderr);
  });
});

Deno.test("a relative --config is taken from the user's directory (INIT_CWD), not the checkout", async () => {
  await withHome(async (home) => {
    const userDir = join(home, "where-i-typed");
    await Deno.mkdir(userDir);
    await Deno.writeTextFile(join(userDir, "mine.toml"), `[node]\nname = "from-init-cwd"\n`);
    // runCmesh runs from the repository root, as `deno task cmesh` does.
    const r = await runCmesh(["config", "show", "--config", "mine.toml", "--json"], {
      home,
      env: { INIT_CWD: userDir },
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = jsonOf(r) as { file: string; config: { node: { name: string } } };
    assert.equal(out.file, join(userDir, "mine.toml"));
    assert.equal(out.config.node.name, "from-init-cwd");
  });
});

Deno.test("bad flag values are usage errors (exit 2) even with no daemon", async () => {
  await withHome(async (home) => {
    const cases: [string[], RegExp][] = [
      [["tasks", "list", "--limit", "x"], /--limit must be a whole number from 1 to 500/],
      [["tasks", "list", "--state", "done"], /--state must be one of/],
      [["tasks", "show", "../etc"], /is not a task id/],
      [["tasks", "cancel", "x"], /is not a task id/],
      [["tasks", "logs", "a b c d e f"], /is not a task id/],
      [
        ["delegate", "box", "t", "--cwd", "relative/dir"],
        /--cwd "relative\/dir" must be an absolute path on the peer/,
      ],
      [
        ["delegate", "box", "t", "--cwd", "/x", "--profile", "Bad Name"],
        /--profile "Bad Name" is not a valid name/,
      ],
      [["delegate", "box", "t", "--cwd", "/x", "--runner", "CLAUDE"], /--runner "CLAUDE"/],
      [["delegate", "box", "t", "--cwd", "/x", "--id", "!"], /--id "!" is not a task id/],
      [
        ["delegate", "box", "t", "--cwd", "/x", "--timeout", "1.5"],
        /--timeout must be a whole number/,
      ],
      [["audit", "list", "--limit", "0"], /--limit/],
    ];
    for (const [args, message] of cases) {
      const r = await runCmesh([...args, "--json"], { home });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}`);
      const err = jsonOf(r).error as { code: string; message: string };
      assert.equal(err.code, "usage", args.join(" "));
      assert.match(err.message, message);
    }
  });
});

Deno.test("--json help says what --json does for the commands where it is not one document", async () => {
  await withHome(async (home) => {
    const expect: [string[], RegExp][] = [
      [["mcp"], /--json +accepted, no effect: stdout carries only the MCP protocol/],
      [["audit", "export"], /--json +errors as one JSON document; the records are JSON Lines/],
      [["demo"], /--json +errors as one JSON document; the demo itself prints text/],
      [["daemon"], /--json +errors as one JSON document on stdout \(the ready line is JSON/],
      [["tasks", "list"], /--json +machine-readable output \(one JSON document\)/],
    ];
    for (const [args, re] of expect) {
      const r = await runCmesh([...args, "--help"], { home });
      assert.equal(r.code, 0);
      assert.match(r.stdout.replace(/\s+/g, " "), re, args.join(" "));
    }
    // And the behaviour behind one of them: audit export errors are one JSON document.
    const r = await runCmesh(["audit", "export", "--format", "csv", "--json"], { home });
    assert.equal((jsonOf(r).error as { code: string }).code, "usage");
  });
});

Deno.test("backups are rotated: config init --force and install-mcp keep the newest few", async () => {
  const dir = await tempDir("cmesh-bak-");
  try {
    const home = join(dir.path, "cmesh");
    const env = cleanEnv(dir.path, { CMESH_HOME: home });
    for (let i = 0; i < BACKUPS_KEPT + 3; i++) {
      const r = await cmesh(["config", "init", "--force", "--json"], env);
      assert.equal(r.code, 0, r.stderr);
      // install-mcp backs a file up only when it changes it: alternate the command.
      const m = await cmesh(
        ["install-mcp", "--agent", "gemini", "--command", `/opt/cmesh-${i % 2}`, "--json"],
        env,
      );
      assert.equal(m.code, 0, m.stderr);
      await new Promise((r) => setTimeout(r, 5)); // distinct millisecond timestamps
    }
    const names = (d: string, re: RegExp) =>
      [...Deno.readDirSync(d)].map((e) => e.name).filter((n) => re.test(n));
    assert.equal(names(home, /^config\.toml\.bak-/).length, BACKUPS_KEPT);
    assert.equal(
      names(join(dir.path, ".gemini"), /^settings\.json\.cmesh-bak-/).length,
      BACKUPS_KEPT,
    );
  } finally {
    await dir.cleanup();
  }
});

Deno.test({
  name: "service uninstall: a service that could not be stopped is reported as failed",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await tempDir("cmesh-svc-");
    try {
      const bin = join(dir.path, "fakebin");
      const env = cleanEnv(dir.path, { PATH: `${bin}:${Deno.env.get("PATH")}` });
      await fakeProgram(bin, "systemctl", { stdout: "active" });
      const install = await cmesh(["service", "install", "--json"], env);
      assert.equal(install.code, 0, install.stderr);
      const log = await fakeProgram(bin, "systemctl", {
        code: 1,
        stderr: "Failed to connect to bus: No medium found",
      });
      const un = await cmesh(["service", "uninstall", "--json"], env);
      assert.equal(un.code, 1, un.stdout);
      const err = json<{ error: { code: string; message: string; stopped: boolean } }>(un).error;
      assert.equal(err.code, "service_stop_failed");
      assert.equal(err.stopped, false);
      assert.match(err.message, /could not be stopped .*Failed to connect to bus/);
      assert.match(err.message, /stop it by hand: systemctl --user disable --now cmesh\.service/);
      assert.ok((await calls(log)).includes("--user disable --now cmesh.service"));
      // Nothing installed: not an error, even when systemctl fails.
      const again = await cmesh(["service", "uninstall", "--json"], env);
      assert.equal(again.code, 0, again.stdout);
    } finally {
      await dir.cleanup();
    }
  },
});

Deno.test("the unknown-peer hint names a way to add peers that exists", () => {
  const config = Config.parse({});
  const d = outboundDecision({
    outbound: config.outbound,
    profiles: config.profiles,
    peer: "buildbox",
    profile: "query",
    cwd: "/srv",
  });
  assert.ok("hint" in d && typeof d.hint === "string", JSON.stringify(d));
  assert.doesNotMatch(d.hint!, /`cmesh config` \//);
  assert.match(d.hint!, /\[\[outbound\.peers\]\] entry in config\.toml/);
  assert.match(d.hint!, /cmesh config path/);
  assert.match(d.hint!, /cmesh_setup_plan/);
});
