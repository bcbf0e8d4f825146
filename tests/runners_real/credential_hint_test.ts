/**
 * @module
 * The real Claude Code CLI with no credential in the worker's environment (its private config
 * dir holds no login either): it answers "Not logged in · Please run /login", which a worker
 * cannot do, so the failed task carries cmesh's hint: which variable the daemon lacks and that
 * it goes in `service.env`, then a restart.
 *
 * Skipped (with a printed reason) only when `claude` is not on PATH.
 */
import assert from "node:assert/strict";
import { parseConfigText } from "../../src/config/load.ts";
import { buildInvocation } from "../../src/runner/invocation.ts";
import { newRunToken } from "../../src/runner/process_list.ts";
import { executeRun } from "../../src/runner/run.ts";
import { resolveRunners } from "../../src/runner/runtime.ts";
import { makeRunDirs, requireCli, TOOLS } from "./harness.ts";

Deno.test({
  name: "claude without a key: the task fails with the CLI's words and cmesh's service.env hint",
  ...requireCli("claude"),
  fn: async () => {
    const dirs = await makeRunDirs();
    try {
      const config = parseConfigText("", "no-key config.toml");
      const runtime = await resolveRunners(config, { pathEnv: Deno.env.get("PATH") ?? "" });
      const runner = runtime.available.find((r) => r.name === "claude")!;
      const invocation = buildInvocation({
        manifest: runner.manifest,
        profile: "query",
        prompt: "Say hi.",
        cwd: dirs.work,
        resolvedBinary: runner.binary,
        // The daemon's environment has no ANTHROPIC_API_KEY / CLAUDE_CODE_OAUTH_TOKEN.
        env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: dirs.home, LANG: "C.UTF-8" },
        extraArgs: runner.args,
        extraEnv: { pass: runner.envPass, set: runner.envSet },
        stateDir: dirs.state,
      });
      const outcome = await executeRun({
        invocation,
        manifest: runner.manifest,
        limits: { timeoutMs: 300_000, maxStdoutBytes: 8 << 20, maxStderrBytes: 64 << 10 },
        runToken: newRunToken(),
        tools: TOOLS,
        onEvent: () => {},
      });
      const message = outcome.error?.message ?? "";
      assert.equal(outcome.state, "failed", JSON.stringify(outcome.error));
      assert.match(message, /Not logged in|Please run \/login|Invalid API key/);
      assert.match(
        message,
        new RegExp(
          `cmesh: the worker's daemon has no ANTHROPIC_API_KEY.* for runner claude; put it in ${dirs.home}/\\.config/cmesh/service\\.env .*restart it: cmesh service install`,
        ),
      );
    } finally {
      await Deno.remove(dirs.root, { recursive: true }).catch(() => {});
    }
  },
});
