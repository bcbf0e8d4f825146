/**
 * The install/uninstall/status actions for each OS, with the service manager replaced by a
 * recorder: which file is written where, which manager commands run in which order, that a
 * second install is a no-op for the file (and starts rather than restarts), and what the user
 * is told when the manager is missing or refuses.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { CommandResult, RunCommand } from "../../src/service/commands.ts";
import {
  installService,
  serviceDefinition,
  type ServiceEnvironment,
  serviceStatus,
  uninstallService,
} from "../../src/service/manager.ts";
import { tempDir } from "../support/daemon.ts";
import { DAEMON_ENV } from "../../src/util/deno_permissions.ts";

type Answer = Partial<CommandResult> | ((args: string[]) => Partial<CommandResult>);

function recorder(answers: Record<string, Answer> = {}): { run: RunCommand; calls: string[] } {
  const calls: string[] = [];
  const run: RunCommand = (program, args) => {
    const line = [program, ...args].join(" ");
    calls.push(line);
    const key = Object.keys(answers).find((k) => line.startsWith(k));
    const a = key ? answers[key] : {};
    const r = typeof a === "function" ? a(args) : a;
    return Promise.resolve({ code: 0, stdout: "", stderr: "", ...r });
  };
  return { run, calls };
}

function envFor(
  home: string,
  os: typeof Deno.build.os,
  run: RunCommand,
  extraEnv: Record<string, string> = {},
): ServiceEnvironment {
  return {
    os,
    env: {
      HOME: home,
      PATH: "/usr/bin:/bin",
      USERPROFILE: home,
      USERNAME: "ann",
      USERDOMAIN: "PC",
      ...extraEnv,
    },
    self: { standalone: true, execPath: join(home, "bin", "cmesh") },
    stateDir: join(home, "state"),
    configDir: join(home, "config"),
    run,
    uid: 501,
    version: "0.0.0-test",
  };
}

Deno.test("linux: install writes the unit, reloads, enables, restarts; a second install only starts", async () => {
  const dir = await tempDir();
  try {
    const rec = recorder();
    const se = envFor(dir.path, "linux", rec.run);
    const first = await installService(se, { start: true });
    const unit = join(dir.path, ".config/systemd/user/cmesh.service");
    assert.equal(first.file, unit);
    assert.equal(first.changed, true);
    assert.equal(first.started, true);
    assert.equal(first.hint, null);
    assert.match(await Deno.readTextFile(unit), /^ExecStart=.*\/bin\/cmesh daemon$/m);
    assert.deepEqual(rec.calls, [
      "systemctl --user daemon-reload",
      "systemctl --user enable cmesh.service",
      "systemctl --user restart cmesh.service",
    ]);
    rec.calls.length = 0;
    const second = await installService(se, { start: true });
    assert.equal(second.changed, false);
    assert.equal(rec.calls.at(-1), "systemctl --user start cmesh.service");
    rec.calls.length = 0;
    await installService(se, { start: true, restart: true });
    assert.equal(
      rec.calls.at(-1),
      "systemctl --user restart cmesh.service",
      "restart: re-read config",
    );

    rec.calls.length = 0;
    const noStart = await installService(envFor(dir.path, "linux", rec.run, { PATH: "/opt" }), {
      start: false,
    });
    assert.equal(noStart.changed, true, "a different PATH changes the unit");
    assert.equal(noStart.started, false);
    assert.deepEqual(rec.calls, [], "--no-start runs no manager command");
  } finally {
    await dir.cleanup();
  }
});

Deno.test("linux: no systemctl, or no user bus: the file is written, not started, and the hint says what to do", async () => {
  const dir = await tempDir();
  try {
    const missing = recorder({ systemctl: { code: 127, missing: true, stderr: "not found" } });
    const a = await installService(envFor(dir.path, "linux", missing.run), { start: true });
    assert.equal(a.started, false);
    assert.match(a.hint!, /systemctl is not installed/);
    await Deno.stat(a.file);

    const noBus = recorder({
      "systemctl --user daemon-reload": {
        code: 1,
        stderr: "Failed to connect to bus: No medium found",
      },
    });
    const b = await installService(envFor(dir.path, "linux", noBus.run), { start: true });
    assert.equal(b.started, false);
    assert.match(b.hint!, /loginctl enable-linger/);
    assert.match(b.hint!, /systemctl --user enable cmesh\.service/);
    assert.equal(b.steps.length, 1, "stops at the first failing step");
    assert.equal(b.steps[0].ok, false);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("linux: status reports installed/up to date/active; uninstall disables, removes, reloads", async () => {
  const dir = await tempDir();
  try {
    const rec = recorder({ "systemctl --user is-active": { code: 0, stdout: "active\n" } });
    const se = envFor(dir.path, "linux", rec.run);
    const before = await serviceStatus(se);
    assert.deepEqual(
      { installed: before.installed, up_to_date: before.up_to_date, state: before.state },
      { installed: false, up_to_date: null, state: "not installed" },
    );
    await installService(se, { start: false });
    const after = await serviceStatus(se);
    assert.deepEqual([after.installed, after.up_to_date, after.state], [true, true, "active"]);
    const stale = await serviceStatus(envFor(dir.path, "linux", rec.run, { PATH: "/other" }));
    assert.equal(stale.up_to_date, false);

    rec.calls.length = 0;
    const un = await uninstallService(se);
    assert.equal(un.removed, true);
    assert.deepEqual(rec.calls, [
      "systemctl --user disable --now cmesh.service",
      "systemctl --user daemon-reload",
    ]);
    await assert.rejects(Deno.stat(un.file), Deno.errors.NotFound);
    const again = await uninstallService(se);
    assert.equal(again.removed, false);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("macOS: bootstrap when not loaded, kickstart when unchanged, bootout+bootstrap when changed", async () => {
  const dir = await tempDir();
  try {
    let loaded = false;
    const rec = recorder({
      "launchctl print": () =>
        loaded ? { code: 0, stdout: "gui/501/dev.cmesh.daemon = {\n\tstate = running\n}" } : {
          code: 113,
          stderr: "Could not find service",
        },
      "launchctl bootstrap": () => {
        loaded = true;
        return {};
      },
    });
    const se = envFor(dir.path, "darwin", rec.run);
    const first = await installService(se, { start: true });
    assert.equal(first.file, join(dir.path, "Library/LaunchAgents/dev.cmesh.daemon.plist"));
    assert.deepEqual(rec.calls, [
      "launchctl print gui/501/dev.cmesh.daemon",
      `launchctl bootstrap gui/501 ${first.file}`,
    ]);
    assert.match(await Deno.readTextFile(first.file), /<string>daemon<\/string>/);

    rec.calls.length = 0;
    await installService(se, { start: true });
    assert.deepEqual(rec.calls.slice(1), ["launchctl kickstart gui/501/dev.cmesh.daemon"]);
    rec.calls.length = 0;
    await installService(se, { start: true, restart: true });
    assert.deepEqual(rec.calls.slice(1), ["launchctl kickstart -k gui/501/dev.cmesh.daemon"]);

    rec.calls.length = 0;
    await installService(envFor(dir.path, "darwin", rec.run, { PATH: "/opt/bin" }), {
      start: true,
    });
    assert.deepEqual(rec.calls.slice(1), [
      "launchctl bootout gui/501/dev.cmesh.daemon",
      `launchctl bootstrap gui/501 ${first.file}`,
    ]);
    const st = await serviceStatus(envFor(dir.path, "darwin", rec.run, { PATH: "/opt/bin" }));
    assert.equal(st.state, "running");
  } finally {
    await dir.cleanup();
  }
});

Deno.test("Windows: writes the UTF-16 task XML, registers it with schtasks and runs it", async () => {
  const dir = await tempDir();
  try {
    const rec = recorder({
      "schtasks /Query": { stdout: "TaskName: \\cmesh\nStatus:   Running\n" },
    });
    const se = envFor(dir.path, "windows", rec.run);
    const out = await installService(se, { start: true });
    assert.equal(out.file, join(dir.path, "config", "cmesh-task.xml"));
    assert.deepEqual(rec.calls, [
      `schtasks /Create /TN cmesh /XML ${out.file} /F`,
      "schtasks /End /TN cmesh",
      "schtasks /Run /TN cmesh",
    ]);
    const bytes = await Deno.readFile(out.file);
    assert.deepEqual([...bytes.slice(0, 2)], [0xff, 0xfe]);
    assert.match(new TextDecoder("utf-16le").decode(bytes.slice(2)), /<UserId>PC\\ann<\/UserId>/);
    assert.equal((await serviceStatus(se)).state, "Running");
    rec.calls.length = 0;
    await uninstallService(se);
    assert.deepEqual(rec.calls, ["schtasks /End /TN cmesh", "schtasks /Delete /TN cmesh /F"]);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("runner credentials: launchd and Windows pass --env-file service.env; systemd reads it", async () => {
  const tmp = await tempDir();
  const dir = tmp.path;
  try {
    const { run } = recorder();
    const envFile = join(dir, "config", "service.env");
    for (const os of ["darwin", "windows"] as const) {
      const def = serviceDefinition(envFor(dir, os, run));
      const text = def.text.replaceAll("&quot;", '"');
      assert.ok(text.includes("--env-file"), `${os}: ${def.text}`);
      assert.ok(text.includes(envFile), `${os} names ${envFile}`);
    }
    const unit = serviceDefinition(envFor(dir, "linux", run)).text;
    assert.ok(!unit.includes("--env-file"), unit);
    assert.ok(unit.includes(`EnvironmentFile=-${envFile}`), unit);
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("the Linux unit limits glibc's malloc arenas (DAEMON_ENV); launchd's plist does not carry it", async () => {
  const tmp = await tempDir();
  try {
    const { run } = recorder();
    const unit = serviceDefinition(envFor(tmp.path, "linux", run)).text;
    for (const [k, v] of Object.entries(DAEMON_ENV)) {
      assert.match(unit, new RegExp(`^Environment="${k}=${v}"$`, "m"));
    }
    const plist = serviceDefinition(envFor(tmp.path, "darwin", run)).text;
    assert.ok(!plist.includes("MALLOC_ARENA_MAX"), plist);
  } finally {
    await tmp.cleanup();
  }
});
