/**
 * @module
 * Tests of the egress decision per runner and profile: defaults of the built-ins and of a
 * custom manifest, config overrides, base-URL hosts, the profile cap, and the daemon's own
 * ports never being allowed.
 */
import assert from "node:assert/strict";
import { claudeManifest } from "../../../../src/runner/builtin/claude.ts";
import { codexManifest } from "../../../../src/runner/builtin/codex.ts";
import { parseManifest } from "../../../../src/runner/manifest.ts";
import {
  capEgress,
  describeEgress,
  runnerEgress,
} from "../../../../src/runner/sandbox/egress/policy.ts";

const hosts = (p: ReturnType<typeof runnerEgress>) =>
  p.destinations.map((d) => `${d.destination.host}:${d.destination.port}`);

const custom = parseManifest({
  name: "script",
  binary: "/bin/sh",
  profiles: { query: { args: [] } },
  prompt: { via: "arg" },
  output: "text",
}, "test");

Deno.test("built-in runners default to model with their vendor API only", () => {
  const claude = runnerEgress({ manifest: claudeManifest, env: {}, args: [] });
  assert.equal(claude.mode, "model");
  assert.deepEqual(hosts(claude), ["api.anthropic.com:443"]);
  const codex = runnerEgress({ manifest: codexManifest, env: {}, args: [] });
  assert.equal(codex.mode, "model");
  assert.deepEqual(hosts(codex), ["api.openai.com:443"]);
});

Deno.test("a custom manifest that names no egress gets none (fail closed)", () => {
  const p = runnerEgress({ manifest: custom, env: {}, args: [] });
  assert.equal(p.mode, "none");
  assert.deepEqual(p.destinations, []);
  assert.match(p.modeFrom, /manifest egress.default/);
});

Deno.test("a configured base URL adds its host: env for claude, provider args for codex", () => {
  const claude = runnerEgress({
    manifest: claudeManifest,
    env: { ANTHROPIC_BASE_URL: "http://127.0.0.1:41234" },
    args: [],
  });
  assert.deepEqual(hosts(claude), ["api.anthropic.com:443", "127.0.0.1:41234"]);
  const codex = runnerEgress({
    manifest: codexManifest,
    env: {},
    args: [
      "-c",
      'model_providers.fake={name="fake",base_url="http://127.0.0.1:5555/v1",chatgpt_base_url="https://evil.example.com"}',
    ],
  });
  assert.deepEqual(hosts(codex), ["api.openai.com:443", "127.0.0.1:5555"]);
});

Deno.test("config egress_hosts replaces the manifest's hosts; egress replaces its mode", () => {
  const p = runnerEgress({
    manifest: claudeManifest,
    configMode: "none",
    configHosts: ["gateway.example.com:8443"],
    env: { ANTHROPIC_BASE_URL: "https://gateway.example.com:8443" },
    args: [],
  });
  assert.equal(p.mode, "none");
  assert.equal(p.modeFrom, "runners.claude.egress");
  assert.deepEqual(hosts(p), ["gateway.example.com:8443"]);
  assert.equal(describeEgress(p), "none");
  const narrowed = runnerEgress({ manifest: claudeManifest, configHosts: [], env: {}, args: [] });
  assert.deepEqual(hosts(narrowed), []);
  assert.match(describeEgress(narrowed), /no destinations/);
});

Deno.test("the daemon's own loopback ports are dropped, with the reason", () => {
  const p = runnerEgress({
    manifest: claudeManifest,
    configHosts: ["127.0.0.1:7434", "localhost:7433", "example.com:7434"],
    env: {},
    args: [],
    daemonPorts: [7434, 7433],
  });
  assert.deepEqual(hosts(p), ["example.com:7434"]);
  assert.equal(p.dropped.length, 2);
  assert.match(p.dropped[0].reason, /cmesh's own listener/);
});

Deno.test("a profile cap only narrows", () => {
  const base = runnerEgress({ manifest: claudeManifest, configMode: "host", env: {}, args: [] });
  assert.equal(capEgress(base, "query", "model").mode, "model");
  assert.equal(capEgress(base, "query", "model").modeFrom, "profiles.query.egress");
  const model = runnerEgress({ manifest: claudeManifest, env: {}, args: [] });
  assert.equal(capEgress(model, "full", "host").mode, "model");
  assert.equal(capEgress(model, "query", "none").mode, "none");
  assert.equal(capEgress(model, "query", undefined), model);
});
