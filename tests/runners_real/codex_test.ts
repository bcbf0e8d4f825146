/**
 * @module
 * The real Codex CLI (`codex exec`, installed by `.ci/run`) run through cmesh's runner path
 * (config `[runners.codex] args/env` → resolveRunners → buildInvocation with the built-in
 * manifest → executeRun) against the scripted fake Responses API. The fake server's log shows
 * which sandbox mode the CLI really ran in (`x-codex-turn-metadata`).
 *
 * Skipped (with a printed reason) only when `codex` is not on PATH.
 */
import assert from "node:assert/strict";
import { eventsOf, NOTES, requireCli } from "./harness.ts";
import { assertWrites, cancelMidTool, withRealRun } from "./checks.ts";
import type { LoggedRequest } from "../support/fake_model/server.ts";

const cli = requireCli("codex");

/** The sandbox mode codex reported to the API for this request. */
function sandboxMode(r: LoggedRequest): string | null {
  try {
    return JSON.parse(r.headers["x-codex-turn-metadata"] ?? "null")?.sandbox_mode ?? null;
  } catch {
    return null;
  }
}

Deno.test({
  name: "codex query: reads the file; the patch and the shell write are refused, nothing written",
  ...cli,
  fn: () =>
    withRealRun(
      { runner: "codex", profile: "query", script: "read_write_shell.json" },
      async (run, why) => {
        const { outcome, fake } = run;
        assert.equal(outcome.state, "succeeded", why);
        assert.match(outcome.claims.final_text ?? "", new RegExp(NOTES), why);
        await assertWrites(run, { written: false, shell: false }, why);
        assert.deepEqual(outcome.evidence.git?.changed_files, [], why);
        const requests = fake.requestsFor("openai");
        assert.ok(requests.length >= 3, why);
        for (const r of requests) assert.equal(sandboxMode(r), "read-only");
        // Both refusals are in the result (codex leaves them out of its JSONL; cmesh reads them
        // from the CLI's own transcript).
        assert.deepEqual(outcome.evidence.permission_denials, [
          {
            tool: "apply_patch",
            detail:
              "written.txt: patch rejected: writing is blocked by read-only sandbox; rejected by user approval settings",
          },
          {
            tool: "exec_command",
            detail:
              "echo shell-was-here > shell.txt: blocked by the sandbox (Read-only file system)",
          },
        ], why);
        assert.equal(eventsOf(run, "denial").length, 2, why);
      },
    ),
});

for (const profile of ["edit", "build"]) {
  Deno.test({
    name: `codex ${profile}: the patch and the shell write both land; git evidence shows them`,
    ...cli,
    fn: () =>
      withRealRun(
        { runner: "codex", profile, script: "read_write_shell.json" },
        async (run, why) => {
          const { outcome, fake } = run;
          assert.equal(outcome.state, "succeeded", why);
          await assertWrites(run, { written: true, shell: true }, why);
          assert.deepEqual(outcome.evidence.git?.changed_files, ["shell.txt", "written.txt"], why);
          assert.deepEqual(outcome.evidence.permission_denials, [], why);
          for (const r of fake.requestsFor("openai")) {
            assert.equal(sandboxMode(r), "workspace-write");
          }
          // The patch shows up as a file_change item.
          assert.ok(
            eventsOf(run, "tool").some((e) =>
              /^file change \(completed\): add .*written\.txt/.test(e.text)
            ),
            why,
          );
        },
      ),
  });
}

Deno.test({
  name: "codex output parsing: final text, thread id, summed token usage, no cost",
  ...cli,
  fn: () =>
    withRealRun(
      { runner: "codex", profile: "query", script: "read_then_answer.json" },
      (run, why) => {
        const { outcome, fake } = run;
        assert.equal(outcome.state, "succeeded", why);
        assert.equal(outcome.error, null);
        assert.match(outcome.claims.final_text ?? "", /^The file says: .*secret-content-42/s, why);
        const first = fake.requestsFor("openai")[0];
        assert.match(outcome.claims.session_id ?? "", /^[0-9a-f-]{36}$/, why);
        assert.equal(outcome.claims.session_id, first.headers["session-id"]);
        assert.equal(outcome.evidence.usage.input_tokens, 200, why);
        assert.equal(outcome.evidence.usage.output_tokens, 51, why);
        assert.equal(outcome.evidence.usage.cost_usd, null, "codex reports no cost");
        assert.equal(outcome.evidence.exit_code, 0);
        assert.ok(eventsOf(run, "tool").some((e) => e.text.includes("cat notes.txt")), why);
        // The key from runners.codex.env went out as a bearer token to the configured provider.
        assert.equal(first.auth, "bearer");
        assert.equal(first.path, "/v1/responses");
        assert.equal((first.body as { model?: string }).model, "gpt-5.5");
        // Phone-home switches of the manifest are in the argv.
        const argv = run.invocation.argv.join(" ");
        assert.match(argv, /--disable plugins/);
        assert.match(argv, /-c analytics\.enabled=false/);
      },
    ),
});

// What codex 0.171 says: a 5xx becomes a generic "high demand" message without the status.
const CODEX_ERROR_TEXT: Record<number, RegExp> = {
  500: /experiencing high demand/,
  401: /401 Unauthorized/,
};

for (const status of [500, 401]) {
  Deno.test({
    name:
      `codex API error ${status}: failed with the CLI's error, one request (retries 0), no hang`,
    ...cli,
    fn: () =>
      withRealRun(
        { runner: "codex", profile: "query", script: `http_${status}.json`, timeoutMs: 45_000 },
        (run, why) => {
          const { outcome, fake } = run;
          assert.equal(outcome.state, "failed", why);
          assert.equal(outcome.error?.code, "runner_turn_failed", why);
          assert.match(outcome.error?.message ?? "", CODEX_ERROR_TEXT[status], why);
          assert.equal(fake.requestsFor("openai").length, 1, why);
          // No hang: the run ended as failed (not timed out) after the bounded retries above.
          console.log(`  took ${Math.round(run.wallMs)} ms`);
        },
      ),
  });
}

Deno.test({
  name: "codex cancel mid-tool: cancelled, nothing of the run survives, < 5 s",
  ...cli,
  fn: async () => {
    await cancelMidTool({ runner: "codex", profile: "query" });
  },
});
