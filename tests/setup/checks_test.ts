/**
 * Every doctor check in each of its states, from hand-made facts: what makes it pass, warn
 * or fail, and that a non-pass always carries a fix. `summarize` decides the exit code.
 */
import assert from "node:assert/strict";
import { Config } from "../../src/config/schema.ts";
import { doctorChecks, summarize } from "../../src/setup/checks.ts";
import type { Check } from "../../src/setup/verdict.ts";
import type { SetupFacts } from "../../src/setup/facts.ts";
import { allowsMe, controlPeer, daemonStatus } from "./_facts.ts";

function healthy(): SetupFacts {
  const config = Config.parse({
    inbound: { enabled: true, allow: [{ peers: ["laptop"], cwd: ["/srv"], runners: ["claude"] }] },
    outbound: { peers: [{ name: "buildbox" }] },
  });
  return {
    os: "linux",
    config: { file: "/h/config.toml", exists: true, valid: true, config },
    stateDir: { path: "/h/state", exists: true, writable: true },
    token: { path: "/h/state/control.token", exists: true, mode: 0o600 },
    daemon: {
      running: true,
      port: 7434,
      status: daemonStatus(),
    },
    tailscale: {
      ok: true,
      where: "unix socket /run/ts.sock",
      backendState: "Running",
      self: { name: "desk", dnsName: "desk.ts.net", addresses: ["100.64.0.1"] },
      peers: [{
        name: "buildbox",
        dnsName: "buildbox.ts.net",
        addresses: ["100.64.0.2"],
        online: true,
        os: "linux",
        tags: [],
      }],
    },
    runners: [
      {
        name: "claude",
        available: true,
        binary: "/usr/bin/claude",
        version: "2.1.0 (Claude Code)",
      },
      { name: "codex", available: false, problem: "runner 'codex': binary 'codex' not found" },
    ],
    agents: [{
      id: "claude-code",
      name: "Claude Code",
      file: "/h/.claude.json",
      detected: true,
      registered: true,
      command: "/bin/cmesh",
    }],
    service: {
      manager: "systemd",
      file: "/h/u",
      installed: true,
      up_to_date: true,
      state: "active",
    },
    peers: [controlPeer("buildbox", { cmesh: true, peer_version: "0.1.0", allows_me: allowsMe() })],
    sandbox: { mode: "required", availability: { ok: true, kind: "bwrap", bin: "/usr/bin/bwrap" } },
  };
}

function check(f: SetupFacts, id: string): Check {
  const c = doctorChecks(f).find((x) => x.id === id);
  assert.ok(c, `no check ${id}`);
  if (c.status !== "pass") assert.ok(c.fix, `${id} (${c.status}) has no fix`);
  return c;
}

Deno.test("a healthy setup passes except the unavailable optional runner (warn); ok", () => {
  const checks = doctorChecks(healthy());
  const notPass = checks.filter((c) => c.status !== "pass").map((c) => `${c.id}:${c.status}`);
  assert.deepEqual(notPass, ["runner.codex:warn"]);
  assert.deepEqual(summarize(checks), { pass: checks.length - 1, warn: 1, fail: 0, ok: true });
  assert.match(
    check(healthy(), "tailscale").detail,
    /node desk \(100\.64\.0\.1\), Running, 1 of 1 peers online/,
  );
  assert.match(check(healthy(), "runner.claude").detail, /2\.1\.0 \(Claude Code\)/);
});

Deno.test("config: missing → warn, invalid → fail with the problems", () => {
  const f = healthy();
  f.config = { ...f.config, exists: false };
  assert.equal(check(f, "config").status, "warn");
  f.config = { ...f.config, exists: true, valid: false, problems: ["inbound.allow[0].cwd: bad"] };
  const c = check(f, "config");
  assert.equal(c.status, "fail");
  assert.match(c.detail, /inbound\.allow\[0\]\.cwd: bad/);
  assert.equal(summarize(doctorChecks(f)).ok, false);
});

Deno.test("state dir and token: missing → warn, unwritable / readable by others → fail", () => {
  const f = healthy();
  f.stateDir = { path: "/h/state", exists: false, writable: null };
  f.token = { path: "/h/state/control.token", exists: false, mode: null };
  assert.equal(check(f, "state_dir").status, "warn");
  assert.equal(check(f, "token").status, "warn");
  f.stateDir = { path: "/h/state", exists: true, writable: false, problem: "EACCES" };
  f.token = { path: "/h/state/control.token", exists: true, mode: 0o644 };
  assert.equal(check(f, "state_dir").status, "fail");
  const t = check(f, "token");
  assert.equal(t.status, "fail");
  assert.match(t.detail, /mode 644/);
  assert.equal(t.fix, "chmod 600 /h/state/control.token");
});

Deno.test("daemon: not answering → fail with how to start it; demo mode is named", () => {
  const f = healthy();
  f.daemon = { running: false, port: 7434, message: "nothing answers" };
  const d = check(f, "daemon");
  assert.equal(d.status, "fail");
  assert.match(d.fix!, /cmesh service install/);
  const g = healthy();
  g.daemon = { running: true, port: 7434, status: daemonStatus({ demo: true }) };
  assert.match(check(g, "daemon").detail, /LOCAL DEMO/);
});

Deno.test("tailscale: unreachable → fail; not Running → fail; Running → pass", () => {
  const f = healthy();
  f.tailscale = { ok: false, where: "unix socket /x", reason: "socket not found" };
  const a = check(f, "tailscale");
  assert.equal(a.status, "fail");
  assert.match(a.detail, /socket not found/);
  assert.match(a.fix!, /tailscale up/);
  f.tailscale = { ok: true, where: "x", backendState: "NeedsLogin" };
  assert.equal(check(f, "tailscale").status, "fail");
  assert.match(check(f, "tailscale").detail, /NeedsLogin/);
});

Deno.test("worker: disabled → pass; enabled but daemon down → warn; daemon without listener → fail", () => {
  const off = healthy();
  off.config.config.inbound.enabled = false;
  assert.match(check(off, "worker").detail, /inbound disabled/);
  assert.equal(check(off, "worker").status, "pass");
  const down = healthy();
  down.daemon = { running: false, port: 7434 };
  assert.equal(check(down, "worker").status, "warn");
  const deaf = healthy();
  deaf.daemon = {
    running: true,
    port: 7434,
    status: daemonStatus({ worker: { enabled: true, listening: [] } }),
  };
  assert.equal(check(deaf, "worker").status, "fail");
});

Deno.test("runners: none usable for the inbound rules → fail; probe failure → warn; disabled inbound → pass", () => {
  const f = healthy();
  f.runners = [{ name: "claude", available: false, problem: "not found on PATH" }];
  assert.equal(check(f, "runners").status, "fail");
  assert.equal(check(f, "runner.claude").status, "warn");
  const g = healthy();
  g.runners[0] = { name: "claude", available: true, binary: "/usr/bin/claude", problem: "exit 1" };
  assert.equal(check(g, "runner.claude").status, "warn");
  const h = healthy();
  h.config.config.inbound.enabled = false;
  assert.equal(check(h, "runners").status, "pass");
  assert.ok(!doctorChecks(h).some((c) => c.id.startsWith("runner.")));
});

Deno.test("agents: detected without cmesh → warn with the install-mcp command; none registered → warn", () => {
  const f = healthy();
  f.agents = [
    {
      id: "codex",
      name: "Codex",
      file: "/h/.codex/config.toml",
      detected: true,
      registered: false,
    },
  ];
  const a = check(f, "agent.codex");
  assert.equal(a.status, "warn");
  assert.equal(a.fix, "cmesh install-mcp --agent codex");
  assert.equal(check(f, "agents").status, "warn");
  f.agents[0] = { ...f.agents[0], error: "not valid TOML" };
  assert.match(check(f, "agent.codex").detail, /not valid TOML/);
});

Deno.test("service: not installed / out of date / stopped → warn", () => {
  const f = healthy();
  f.service = {
    manager: "systemd",
    file: "/u",
    installed: false,
    up_to_date: null,
    state: "not installed",
  };
  assert.equal(check(f, "service").status, "warn");
  f.service = {
    manager: "systemd",
    file: "/u",
    installed: true,
    up_to_date: false,
    state: "active",
  };
  assert.match(check(f, "service").detail, /out of date/);
  f.service = {
    manager: "systemd",
    file: "/u",
    installed: true,
    up_to_date: true,
    state: "failed",
  };
  assert.equal(check(f, "service").status, "warn");
});

Deno.test("peers: unreachable or allowing nothing → warn naming the machine to change", () => {
  const f = healthy();
  f.peers = [controlPeer("buildbox", { cmesh: false, error: "connection refused" })];
  const a = check(f, "peer.buildbox");
  assert.equal(a.status, "warn");
  assert.match(a.fix!, /^on buildbox:/);
  f.peers = [
    controlPeer("buildbox", { cmesh: true, peer_version: "0.1.0", allows_me: allowsMe(0) }),
  ];
  assert.match(check(f, "peer.buildbox").fix!, /on buildbox: add an \[\[inbound\.allow\]\] rule/);
  f.peers = null;
  assert.equal(check(f, "peers").status, "warn");
});

Deno.test("sandbox: bwrap works → pass; off → warn; required but missing → fail with the fix", () => {
  assert.match(check(healthy(), "sandbox").detail, /sandboxed with bwrap/);
  const off = healthy();
  off.sandbox.mode = "off";
  assert.equal(check(off, "sandbox").status, "warn");
  assert.match(check(off, "sandbox").detail, /NOT sandboxed/);
  const missing = healthy();
  missing.sandbox.availability = {
    ok: false,
    kind: "bwrap",
    reason: "bubblewrap (bwrap) is not installed",
    fix: 'install it (`apt-get install bubblewrap`), or set [sandbox] mode = "off"',
  };
  const c = check(missing, "sandbox");
  assert.equal(c.status, "fail");
  assert.match(c.detail, /not installed.*refused/);
  assert.match(c.fix ?? "", /apt-get install bubblewrap/);
  // With inbound off nothing would be refused: only a warning.
  missing.config.config = Config.parse({});
  assert.equal(check(missing, "sandbox").status, "warn");
  const windows = healthy();
  windows.os = "windows";
  windows.sandbox.mode = "off";
  assert.match(check(windows, "sandbox").detail, /not sandboxed on Windows/);
});

Deno.test("egress: lists each runner's network; model without socat fails with the fix; off warns", () => {
  const f = healthy();
  f.runners[0].egress = { mode: "model", describe: "model: api.anthropic.com:443" };
  f.egress = { socat: "/usr/bin/socat" };
  const ok = check(f, "egress");
  assert.equal(ok.status, "pass");
  assert.equal(ok.detail, "claude: model: api.anthropic.com:443");
  f.egress = { socat: null };
  const missing = check(f, "egress");
  assert.equal(missing.status, "fail");
  assert.match(missing.detail, /claude use egress "model", which needs socat[^]*refused/);
  assert.match(missing.fix ?? "", /apt-get install socat/);
  // macOS: Seatbelt cannot confine a run to its model hosts; the choice is named.
  const mac = healthy();
  mac.runners[0].egress = { mode: "model", describe: "model: api.anthropic.com:443" };
  mac.egress = { socat: "/usr/bin/socat" };
  mac.sandbox.availability = { ok: true, kind: "seatbelt", bin: "/usr/bin/sandbox-exec" };
  const macCheck = check(mac, "egress");
  assert.equal(macCheck.status, "fail");
  assert.match(macCheck.detail, /macOS cannot enforce/);
  assert.match(macCheck.fix ?? "", /egress = "host"/);
  f.sandbox.mode = "off";
  const off = check(f, "egress");
  assert.equal(off.status, "warn");
  assert.match(off.detail, /not enforced/);
  // Inbound disabled: no runs, no egress line.
  f.config.config = Config.parse({});
  assert.equal(doctorChecks(f).find((c) => c.id === "egress"), undefined);
});
