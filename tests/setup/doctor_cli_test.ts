/**
 * `cmesh doctor` end to end. On an empty machine it fails (exit 1) on the daemon and
 * Tailscale and warns about the missing config, each with a fix. With a LocalAPI double
 * standing in for tailscaled, a running daemon (inbound on, userspace networking, the demo
 * runner) and cmesh registered with an agent, every hard check passes (exit 0), and the
 * output names this node, its address, the worker listener and the runner's version.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Check } from "../../src/setup/verdict.ts";
import { freePort, startDaemon, tempDir } from "../support/daemon.ts";
import { startLocalApiDouble } from "../support/localapi_double.ts";
import { cleanEnv, cmesh, json } from "./_helpers.ts";

interface DoctorOut {
  ok: boolean;
  pass: number;
  warn: number;
  fail: number;
  checks: Check[];
}

const byId = (d: DoctorOut) => Object.fromEntries(d.checks.map((c) => [c.id, c]));

Deno.test("doctor on an empty machine: exit 1; daemon and tailscale fail, config warns; fixes given", async () => {
  const dir = await tempDir("cmesh-doctor-");
  try {
    const home = join(dir.path, "cmesh");
    const env = cleanEnv(dir.path, {
      CMESH_HOME: home,
      PATH: join(dir.path, "no-bin"),
    });
    // Point tailscale at a socket that does not exist (the machine may have a real tailscaled).
    await Deno.mkdir(home);
    await Deno.writeTextFile(
      join(home, "config.toml"),
      `[tailscale]\nsocket = "${join(dir.path, "none.sock")}"\n`,
    );
    const r = await cmesh(["doctor", "--json"], env);
    assert.equal(r.code, 1, r.stderr);
    const d = json<DoctorOut>(r);
    const c = byId(d);
    assert.equal(d.ok, false);
    assert.equal(c.config.status, "pass");
    assert.equal(c.daemon.status, "fail");
    assert.equal(c.tailscale.status, "fail");
    assert.match(c.tailscale.detail, /none\.sock/);
    assert.equal(c.state_dir.status, "warn");
    assert.equal(c.token.status, "warn");
    assert.equal(c.agents.status, "warn");
    for (const check of d.checks.filter((x) => x.status !== "pass")) assert.ok(check.fix, check.id);

    await Deno.remove(join(home, "config.toml"));
    const human = await cmesh(["doctor"], env);
    assert.equal(human.code, 1);
    assert.match(human.stdout, /^warn {2}config +.*does not exist/m);
    assert.match(human.stdout, /^FAIL {2}daemon +not answering/m);
    assert.match(human.stdout, /fix: run 'cmesh service install'/);
    assert.match(human.stdout, /\d+ passed, \d+ warning\(s\), 2 failed$/m);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("doctor on a working node: exit 0, node name/address, worker listener, runner version, agent registered", async () => {
  const dir = await tempDir("cmesh-doctor-");
  const api = await startLocalApiDouble({
    self: { name: "desk", ips: ["100.64.0.1", "fd7a:115c:a1e0::1"], login: "ann@example.com" },
    nodes: [{ name: "laptop", ips: ["100.64.0.2"], login: "ann@example.com" }],
    tun: false,
  });
  let daemon: Awaited<ReturnType<typeof startDaemon>> | null = null;
  try {
    const home = join(dir.path, "cmesh");
    const repo = join(dir.path, "repo");
    await Deno.mkdir(home);
    await Deno.mkdir(repo);
    await Deno.writeTextFile(
      join(home, "config.toml"),
      `[daemon]
control_port = ${freePort()}
worker_port = ${freePort()}
[tailscale]
socket = "${api.socketPath}"
userspace_networking = true
[inbound]
enabled = true
[[inbound.allow]]
peers = ["laptop"]
cwd = ["${repo}"]
runners = ["demo"]
[runners.demo]
`,
    );
    daemon = await startDaemon(home, { env: { HOME: dir.path } });
    const env = cleanEnv(dir.path, { CMESH_HOME: home, PATH: join(dir.path, "no-bin") });
    const reg = await cmesh(["install-mcp", "--agent", "codex"], env);
    assert.equal(reg.code, 0, reg.stderr);

    const r = await cmesh(["doctor", "--json"], env);
    const d = json<DoctorOut>(r);
    const c = byId(d);
    assert.equal(r.code, 0, JSON.stringify(d.checks.filter((x) => x.status === "fail"), null, 2));
    assert.equal(d.fail, 0);
    assert.match(
      c.tailscale.detail,
      /node desk \(100\.64\.0\.1, fd7a:115c:a1e0::1\), Running, 1 of 1 peers online/,
    );
    assert.match(c.daemon.detail, /running \(pid \d+, node desk/);
    assert.equal(c.token.status, "pass");
    assert.match(c.token.detail, /mode 600/);
    assert.equal(c.state_dir.status, "pass");
    assert.match(c.worker.detail, /listening on 127\.0\.0\.1:\d+/);
    assert.equal(c["runner.demo"].status, "pass");
    assert.match(c["runner.demo"].detail, /^deno \d/);
    assert.equal(c["agent.codex"].status, "pass");
    assert.equal(c.service.status, "warn", "no service installed in the temp HOME");
  } finally {
    await daemon?.stop();
    await api.stop();
    await dir.cleanup();
  }
});
