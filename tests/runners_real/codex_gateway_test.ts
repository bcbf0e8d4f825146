/**
 * @module
 * The real Codex CLI configured the way the docs say, with a base URL in the environment
 * (`[runners.codex] env = { OPENAI_BASE_URL = … }`): codex 0.171 ignores that variable, so the
 * built-in manifest maps it to a provider table. Against the fake model the task runs at that
 * URL; at a closed port it fails with a clear error instead of "waiting for network" until the
 * task timeout; with a rejected key it fails with cmesh's credential hint.
 *
 * Skipped (with a printed reason) only when `codex` is not on PATH.
 */
import assert from "node:assert/strict";
import { parseConfigText } from "../../src/config/load.ts";
import { buildInvocation } from "../../src/runner/invocation.ts";
import { newRunToken } from "../../src/runner/process_list.ts";
import { executeRun } from "../../src/runner/run.ts";
import { resolveRunners } from "../../src/runner/runtime.ts";
import type { RunnerEvent, RunOutcome } from "../../src/runner/types.ts";
import { freePort } from "../support/daemon.ts";
import { startFakeModel } from "../support/fake_model/server.ts";
import { makeRunDirs, NOTES, requireCli, TOOLS } from "./harness.ts";

const cli = requireCli("codex");
const SCRIPTS = new URL("../testdata/fake_model/", import.meta.url);

/** Runs codex once with `env` as `[runners.codex] env`, through the daemon's runner path. */
async function runWithEnv(
  env: Record<string, string>,
): Promise<{ outcome: RunOutcome; events: RunnerEvent[]; argv: string[]; wallMs: number }> {
  const dirs = await makeRunDirs();
  try {
    const toml = `[runners.codex]\nargs = ["-m", "gpt-5.5"]\nenv = ${
      "{ " + Object.entries(env).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(", ") + " }"
    }\n`;
    const config = parseConfigText(toml, "codex gateway config.toml");
    const runtime = await resolveRunners(config, { pathEnv: Deno.env.get("PATH") ?? "" });
    const runner = runtime.available.find((r) => r.name === "codex")!;
    const invocation = buildInvocation({
      manifest: runner.manifest,
      profile: "query",
      prompt: "Follow the scripted plan.",
      cwd: dirs.work,
      resolvedBinary: runner.binary,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: dirs.home, LANG: "C.UTF-8" },
      extraArgs: runner.args,
      extraEnv: { pass: runner.envPass, set: runner.envSet },
      stateDir: dirs.state,
    });
    const events: RunnerEvent[] = [];
    const t0 = performance.now();
    const outcome = await executeRun({
      invocation,
      manifest: runner.manifest,
      // Generous: the test asserts the run fails on its own, never how fast.
      limits: { timeoutMs: 300_000, maxStdoutBytes: 8 << 20, maxStderrBytes: 64 << 10 },
      runToken: newRunToken(),
      tools: TOOLS,
      onEvent: (ev) => events.push(ev),
    });
    const wallMs = performance.now() - t0;
    return { outcome, events, argv: invocation.argv, wallMs };
  } finally {
    await Deno.remove(dirs.root, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "codex: OPENAI_BASE_URL in the runner env is where the real CLI sends its requests",
  ...cli,
  fn: async () => {
    // The codex half of this script runs `cat notes.txt` in the cwd: no placeholders needed.
    const fake = await startFakeModel({ script: new URL("read_then_answer.json", SCRIPTS) });
    try {
      const r = await runWithEnv({ OPENAI_BASE_URL: `${fake.url}/v1`, OPENAI_API_KEY: "sk-fake" });
      const why = JSON.stringify({ error: r.outcome.error, events: r.events.slice(-5) });
      assert.equal(r.outcome.state, "succeeded", why);
      assert.match(r.outcome.claims.final_text ?? "", new RegExp(NOTES), why);
      assert.ok(fake.requestsFor("openai").length >= 2, why);
    } finally {
      await fake.close();
    }
  },
});

Deno.test({
  name: "codex: a base URL at a closed port fails the task with a clear error, not the timeout",
  ...cli,
  fn: async () => {
    const r = await runWithEnv({
      OPENAI_BASE_URL: `http://127.0.0.1:${freePort()}/v1`,
      OPENAI_API_KEY: "sk-fake",
    });
    const why = JSON.stringify({ error: r.outcome.error, events: r.events.slice(-5) });
    assert.equal(r.outcome.state, "failed", why);
    assert.equal(r.outcome.error?.code, "runner_model_unreachable", why);
    assert.match(r.outcome.error?.message ?? "", /cannot reach its model API/);
    assert.match(r.outcome.error?.message ?? "", /OPENAI_BASE_URL/);
    console.log(`codex at a closed port failed after ${Math.round(r.wallMs / 1000)} s`);
  },
});

Deno.test({
  name: "codex: a rejected key fails with cmesh's hint naming service.env",
  ...cli,
  fn: async () => {
    const fake = await startFakeModel({ script: new URL("http_401.json", SCRIPTS) });
    try {
      const r = await runWithEnv({ OPENAI_BASE_URL: `${fake.url}/v1`, OPENAI_API_KEY: "sk-bad" });
      const why = JSON.stringify({ error: r.outcome.error, events: r.events.slice(-5) });
      assert.equal(r.outcome.state, "failed", why);
      assert.match(r.outcome.error?.message ?? "", /401/, why);
      assert.match(
        r.outcome.error?.message ?? "",
        /cmesh: the worker's daemon gives runner codex OPENAI_API_KEY, which was not accepted; check the value in \S+service\.env and restart it: cmesh service install/,
        why,
      );
    } finally {
      await fake.close();
    }
  },
});
