/** The daemon's `GET /v1/status` answer: runners with credential names only, and the tailnet. */
import assert from "node:assert/strict";
import { daemonStatus, runnersStatus } from "../../src/daemon/status.ts";
import { StatusAnswer } from "../../src/protocol/control.ts";
import { claudeManifest } from "../../src/runner/builtin/claude.ts";
import type { SandboxSettings } from "../../src/runner/sandbox/mod.ts";
import { VERSION } from "../../src/version.ts";

const OFF: SandboxSettings = {
  mode: "off",
  availability: { ok: false, kind: "none", reason: "off", fix: "" },
  host: { system: [], etc: [], unshareUser: true },
};

Deno.test("runners: each available one with the credential names set for it, never a value", () => {
  const runners = runnersStatus(
    {
      available: [{
        name: "claude",
        manifest: claudeManifest,
        binary: "/usr/bin/claude",
        prefixArgs: [],
        args: [],
        envPass: ["MY_TOKEN", "OTHER_KEY"],
        envSet: { OTHER_KEY: "set-in-config" },
      }],
      unavailable: [{ name: "codex", reason: "binary 'codex' not found" }],
    },
    OFF,
    (n) => ({ ANTHROPIC_API_KEY: "sk-secret", MY_TOKEN: "" } as Record<string, string>)[n],
  );
  assert.ok("available" in runners);
  // Set in the daemon's env, or by config; an empty value is not a credential.
  assert.deepEqual(runners.available[0].credentials_present, ["ANTHROPIC_API_KEY", "OTHER_KEY"]);
  assert.doesNotMatch(JSON.stringify(runners), /sk-secret|set-in-config/);
  assert.deepEqual(runners.unavailable, [{ name: "codex", reason: "binary 'codex' not found" }]);
  assert.equal(runners.sandbox.state, "off");
});

Deno.test("status: the tailnet as LocalAPI reports it when asked, and why there is none", async () => {
  const facts = {
    node: "laptop",
    configFile: "/c/config.toml",
    stateDir: "/state",
    controlPort: 7434,
    demo: false,
    localOnly: true,
    inboundEnabled: false,
    listening: [],
    runners: { inbound: "disabled" as const },
    outboundPeers: ["buildbox"],
    tailnet: null,
  };
  const local = StatusAnswer.parse(await daemonStatus(facts));
  assert.deepEqual(local.tailnet, { ok: false, reason: "local-only mode: no tailnet" });
  assert.equal(local.version, VERSION);
  assert.equal(local.control, "127.0.0.1:7434");
  const down = await daemonStatus({
    ...facts,
    tailnet: () => Promise.resolve({ ok: false, reason: "socket not found" }),
  });
  assert.deepEqual(down.tailnet, { ok: false, reason: "socket not found" });
});
