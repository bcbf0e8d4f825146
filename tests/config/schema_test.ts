/**
 * @module
 * The config schema on its own: safe defaults, valid examples, and defaults that stay fresh.
 */
import assert from "node:assert/strict";
import { BUILTIN_PROFILES, Config, InboundRule, OutboundPeer } from "../../src/config/schema.ts";
import { parseConfigText } from "../../src/config/load.ts";

const VALID = new URL("../testdata/config/valid/", import.meta.url);

Deno.test("defaults are the safe ones: inbound off, only query enabled, full off", () => {
  const cfg = Config.parse({});
  assert.equal(cfg.inbound.enabled, false);
  assert.deepEqual(cfg.inbound.allow, []);
  assert.deepEqual(cfg.outbound.peers, []);
  assert.deepEqual(Object.keys(cfg.profiles), [...BUILTIN_PROFILES]);
  const enabled = Object.entries(cfg.profiles).filter(([, p]) => p.enabled).map(([n]) => n);
  assert.deepEqual(enabled, ["query"]);
  assert.equal(cfg.profiles.full.enabled, false);
  assert.deepEqual(cfg.runners, {});
});

Deno.test("defaults: ports, limits and timeouts", () => {
  const cfg = Config.parse({});
  assert.deepEqual(cfg.daemon, {
    control_port: 7434,
    worker_port: 7433,
    log_level: "info",
    max_body_bytes: 256 * 1024,
  });
  assert.deepEqual(cfg.tailscale, {
    timeout_ms: 2000,
    transport: "auto",
    userspace_networking: false,
  });
  assert.deepEqual(cfg.outbound, { peers: [] });
  assert.deepEqual(cfg.inbound, {
    enabled: false,
    max_concurrent: 2,
    max_queue: 32,
    max_prompt_bytes: 64 * 1024,
    default_timeout_s: 1800,
    max_timeout_s: 7200,
    max_output_bytes: 8 * 1024 * 1024,
    allow: [],
  });
  assert.deepEqual(cfg.node, {});
});

Deno.test("an inbound rule defaults to query and both built-in runners", () => {
  const rule = InboundRule.parse({ peers: ["laptop"], cwd: ["/srv/app"] });
  assert.deepEqual(rule.profiles, ["query"]);
  assert.deepEqual(rule.runners, ["claude", "codex"]);
  assert.deepEqual(rule.tags, []);
  assert.deepEqual(rule.logins, []);
  assert.equal(rule.max_concurrent, undefined);
});

Deno.test("an outbound peer defaults to query, port 7433 and any absolute cwd", () => {
  const peer = OutboundPeer.parse({ name: "buildbox" });
  assert.deepEqual(peer, { name: "buildbox", port: 7433, profiles: ["query"], cwd: ["/**"] });
});

Deno.test("enabling one profile keeps the other built-in defaults", () => {
  const cfg = Config.parse({ profiles: { build: { enabled: true } } });
  assert.equal(cfg.profiles.build.enabled, true);
  assert.equal(cfg.profiles.query.enabled, true);
  assert.equal(cfg.profiles.edit.enabled, false);
  assert.equal(cfg.profiles.full.enabled, false);
});

Deno.test("query can be switched off explicitly", () => {
  const cfg = Config.parse({ profiles: { query: { enabled: false } } });
  assert.equal(cfg.profiles.query.enabled, false);
});

Deno.test("mutating one parsed config never changes the defaults of the next", () => {
  const first = Config.parse({});
  first.profiles.full.enabled = true;
  first.inbound.enabled = true;
  first.inbound.allow.push(InboundRule.parse({ peers: ["x"], cwd: ["/"] }));
  first.outbound.peers.push(OutboundPeer.parse({ name: "x" }));
  first.daemon.control_port = 1;
  const withProfiles = Config.parse({ profiles: { query: { enabled: true } } });
  withProfiles.profiles.edit.enabled = true;

  const next = Config.parse({});
  assert.equal(next.profiles.full.enabled, false);
  assert.equal(next.profiles.edit.enabled, false);
  assert.equal(next.inbound.enabled, false);
  assert.deepEqual(next.inbound.allow, []);
  assert.deepEqual(next.outbound.peers, []);
  assert.equal(next.daemon.control_port, 7434);
});

Deno.test("valid example: minimal (empty) file gives all defaults", async () => {
  const text = await Deno.readTextFile(new URL("minimal.toml", VALID));
  assert.deepEqual(parseConfigText(text, "minimal.toml"), Config.parse({}));
});

Deno.test("valid example: full file sets every key", async () => {
  const text = await Deno.readTextFile(new URL("full.toml", VALID));
  const cfg = parseConfigText(text, "full.toml");
  assert.equal(cfg.node.name, "buildbox");
  assert.deepEqual(cfg.daemon, {
    state_dir: "/var/lib/cmesh",
    control_port: 8434,
    worker_port: 8433,
    log_level: "debug",
    max_body_bytes: 524288,
  });
  assert.deepEqual(cfg.tailscale, {
    socket: "/run/tailscale/tailscaled.sock",
    localapi_url: "http://127.0.0.1:41112",
    localapi_token: "secret-from-the-gui-app",
    transport: "cli",
    cli_path: "/usr/bin/tailscale",
    timeout_ms: 5000,
    userspace_networking: true,
    app_capability: "example.com/cap/cmesh",
  });
  assert.deepEqual(cfg.outbound, {
    default_timeout_s: 900,
    peers: [{
      name: "winbox",
      address: "100.64.0.7",
      port: 8433,
      profiles: ["query", "build"],
      cwd: ["C:\\src\\**", "/home/ann/src/**"],
    }],
  });
  assert.deepEqual(cfg.inbound, {
    enabled: true,
    max_concurrent: 4,
    max_queue: 64,
    max_prompt_bytes: 131072,
    default_timeout_s: 600,
    max_timeout_s: 3600,
    max_output_bytes: 1048576,
    allow: [{
      peers: ["laptop"],
      tags: ["tag:dev"],
      logins: ["ann@example.com"],
      profiles: ["query", "edit", "build"],
      cwd: ["/srv/app", "/srv/lib"],
      runners: ["claude"],
      max_concurrent: 1,
      max_queue: 8,
    }],
  });
  assert.deepEqual(Object.keys(cfg.profiles), ["query", "edit", "build", "full", "review"]);
  assert.equal(cfg.profiles.query.description, "look, do not touch");
  assert.equal(cfg.profiles.review.enabled, true);
  assert.deepEqual(cfg.runners, {
    claude: {
      enabled: true,
      binary: "/usr/local/bin/claude",
      args: ["--verbose"],
      env_pass: ["ANTHROPIC_API_KEY"],
      env: { CLAUDE_CODE_DISABLE_TELEMETRY: "1" },
    },
    codex: { enabled: false, args: [], env_pass: [], env: {} },
  });
});

Deno.test("Windows absolute paths are absolute", () => {
  const rule = InboundRule.parse({ peers: ["a"], cwd: ["C:\\src\\app", "D:/work"] });
  assert.deepEqual(rule.cwd, ["C:\\src\\app", "D:/work"]);
});

Deno.test("a tag needs the tag: prefix and a name", () => {
  for (const tag of ["tag:dev", "tag:ci-runner", "tag:a_b"]) {
    assert.ok(InboundRule.safeParse({ tags: [tag], cwd: ["/"] }).success, tag);
  }
  for (const tag of ["dev", "tag:", "tag:-x", "Tag:dev", "tag:dev ops"]) {
    assert.ok(!InboundRule.safeParse({ tags: [tag], cwd: ["/"] }).success, tag);
  }
});

Deno.test("ports: 1 and 65535 are accepted, 0 and 65536 are not", () => {
  assert.ok(Config.safeParse({ daemon: { worker_port: 1 } }).success);
  assert.ok(Config.safeParse({ daemon: { worker_port: 65535 } }).success);
  assert.ok(!Config.safeParse({ daemon: { worker_port: 0 } }).success);
  assert.ok(!Config.safeParse({ daemon: { worker_port: 65536 } }).success);
});
