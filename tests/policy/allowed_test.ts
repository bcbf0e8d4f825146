import assert from "node:assert/strict";
import { allowedFor } from "../../src/policy/allowed.ts";
import { ciNode, config, laptop } from "./_helpers.ts";

const cfg = config({
  tailscale: { app_capability: "example.com/cap/cmesh" },
  profiles: { edit: { enabled: true } },
  inbound: {
    allow: [
      {
        peers: ["laptop"],
        profiles: ["query", "edit", "build"],
        cwd: ["/srv/app"],
        max_concurrent: 1,
      },
      { tags: ["tag:ci"], cwd: ["/srv/ci"], runners: ["codex"], max_queue: 2 },
      {
        logins: ["ann@example.com"],
        profiles: ["query"],
        cwd: ["/home/ann/src"],
        runners: ["claude", "aider"],
      },
    ],
  },
});

Deno.test("allowedFor: lists each matching rule separately, narrowed to what is usable", () => {
  const s = allowedFor(
    laptop({ capMap: { "example.com/cap/cmesh": [{ profiles: ["query"], cwd: ["/srv/**"] }] } }),
    cfg,
    ["claude"],
  );
  assert.equal(s.inboundEnabled, true);
  assert.deepEqual(s.rules, [
    {
      ruleIndex: 0,
      by: "peer laptop",
      profiles: ["query", "edit"],
      cwd: ["/srv/app"],
      runners: ["claude"],
      maxConcurrent: 1,
    },
    {
      ruleIndex: 2,
      by: "login ann@example.com",
      profiles: ["query"],
      cwd: ["/home/ann/src"],
      runners: ["claude"],
    },
  ]);
  assert.deepEqual(s.limits, {
    maxPromptBytes: 65536,
    defaultTimeoutS: 1800,
    maxTimeoutS: 7200,
    maxConcurrent: 2,
    maxQueue: 32,
  });
  assert.deepEqual(s.grant, {
    capability: "example.com/cap/cmesh",
    status: "ok",
    values: [{ profiles: ["query"], cwd: ["/srv/**"] }],
  });
});

Deno.test("allowedFor: tagged node, missing and invalid grants, no grants configured", () => {
  const s = allowedFor(ciNode(), cfg, ["claude"]);
  assert.deepEqual(s.rules.map((r) => [r.ruleIndex, r.runners, r.maxQueue]), [[1, [], 2]]);
  assert.deepEqual(s.grant, { capability: "example.com/cap/cmesh", status: "absent" });
  const bad = allowedFor(ciNode({ capMap: { "example.com/cap/cmesh": [1] } }), cfg, []);
  assert.equal(bad.grant?.status, "invalid");
  assert.equal(allowedFor(laptop(), config(), ["claude"]).grant, null);
});

Deno.test("allowedFor: nothing when disabled or unmatched", () => {
  assert.deepEqual(
    allowedFor(laptop(), config({ inbound: { enabled: false } }), ["claude"]).rules,
    [],
  );
  assert.deepEqual(allowedFor(laptop({ node: "x", login: "eve@x" }), cfg, ["claude"]).rules, []);
});
