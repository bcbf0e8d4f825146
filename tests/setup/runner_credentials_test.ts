import assert from "node:assert/strict";
import { Config } from "../../src/config/schema.ts";
import { runnerChecks } from "../../src/setup/checks_inbound.ts";
import type { SetupFacts } from "../../src/setup/facts.ts";

Deno.test("doctor warns when a runner has no credentials in the environment", () => {
  const config = Config.parse({
    inbound: { enabled: true, allow: [{ peers: ["laptop"], cwd: ["/srv"], runners: ["claude"] }] },
  });
  const facts = {
    runners: [{
      name: "claude",
      available: true,
      binary: "/usr/bin/claude",
      version: "2.1.197",
      credentials: {
        names: ["ANTHROPIC_API_KEY"],
        present: [],
        configSetsEnv: false,
        source: "shell+service.env",
        serviceEnvFile: "/home/ann/.config/cmesh/service.env",
      },
    }],
  } as unknown as SetupFacts;
  const withKey = structuredClone(facts);
  withKey.runners[0].credentials!.present = ["ANTHROPIC_API_KEY"];
  const check = (f: SetupFacts) =>
    runnerChecks({ ...f, config: { config } } as SetupFacts).find((c) => c.id === "runner.claude")!;
  assert.equal(check(facts).status, "warn");
  assert.match(
    check(facts).detail,
    /only from ANTHROPIC_API_KEY and none of them is set in this shell or in \/home\/ann\/\.config\/cmesh\/service\.env/,
  );
  assert.match(check(facts).fix ?? "", /put one in \/home\/ann\/\.config\/cmesh\/service\.env/);
  const fromDaemon = structuredClone(facts);
  fromDaemon.runners[0].credentials!.source = "daemon";
  assert.match(check(fromDaemon).detail, /the running daemon has none of them/);
  assert.equal(check(withKey).status, "pass");
});
