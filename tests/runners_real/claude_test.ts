/**
 * @module
 * The real Claude Code CLI (`claude -p`, installed by `.ci/run`) run through cmesh's runner path
 * (config → resolveRunners → buildInvocation with the built-in manifest → executeRun) against
 * the scripted fake Anthropic API. What each test proves is in its name; the fake server's
 * request log shows what the CLI was really offered and sent.
 *
 * Skipped (with a printed reason) only when `claude` is not on PATH.
 */
import assert from "node:assert/strict";
import { describeRun, eventsOf, liveWithMarker, NOTES, requireCli } from "./harness.ts";
import { assertWrites, cancelMidTool, withRealRun } from "./checks.ts";
import type { LoggedRequest } from "../support/fake_model/server.ts";

const cli = requireCli("claude");

/** The tool names offered in a Messages request. */
function offeredTools(r: LoggedRequest): string[] {
  const tools = (r.body as { tools?: { name: string }[] }).tools ?? [];
  return tools.map((t) => t.name).sort();
}

Deno.test({
  name:
    "claude query: reads the file; Write and Bash are refused, nothing written, denials recorded",
  ...cli,
  fn: () =>
    withRealRun(
      { runner: "claude", profile: "query", script: "read_write_shell.json" },
      async (run, why) => {
        const { outcome, fake } = run;
        assert.equal(outcome.state, "succeeded", why);
        // The read worked: the model got the file's content and echoed it.
        assert.match(outcome.claims.final_text ?? "", new RegExp(NOTES), why);
        // Neither write happened.
        await assertWrites(run, { written: false, shell: false }, why);
        // Both refusals are in the result.
        const tools = outcome.evidence.permission_denials.map((d) => d.tool).sort();
        assert.deepEqual(tools, ["Bash", "Write"], why);
        // The profile's flags in force: only the read tools were offered to the model.
        const main = fake.requestsFor("anthropic");
        assert.ok(main.length >= 3, why);
        for (const r of main) assert.deepEqual(offeredTools(r), ["Glob", "Grep", "Read"]);
        assert.deepEqual(outcome.evidence.git?.changed_files, [], why);
      },
    ),
});

Deno.test({
  name: "claude edit: Write is auto-approved and shows in git evidence; Bash is not offered",
  ...cli,
  fn: () =>
    withRealRun(
      { runner: "claude", profile: "edit", script: "read_write_shell.json" },
      async (run, why) => {
        const { outcome, fake } = run;
        assert.equal(outcome.state, "succeeded", why);
        await assertWrites(run, { written: true, shell: false }, why);
        assert.deepEqual(outcome.evidence.git?.changed_files, ["written.txt"], why);
        assert.deepEqual(outcome.evidence.permission_denials.map((d) => d.tool), ["Bash"], why);
        for (const r of fake.requestsFor("anthropic")) {
          assert.deepEqual(offeredTools(r), ["Edit", "Glob", "Grep", "Read", "Write"]);
        }
      },
    ),
});

Deno.test({
  name: "claude build: Write and Bash both run; git evidence lists both new files",
  ...cli,
  fn: () =>
    withRealRun(
      { runner: "claude", profile: "build", script: "read_write_shell.json" },
      async (run, why) => {
        const { outcome, fake } = run;
        assert.equal(outcome.state, "succeeded", why);
        await assertWrites(run, { written: true, shell: true }, why);
        assert.deepEqual(outcome.evidence.git?.changed_files, ["shell.txt", "written.txt"], why);
        assert.deepEqual(outcome.evidence.permission_denials, [], why);
        for (const r of fake.requestsFor("anthropic")) {
          assert.deepEqual(offeredTools(r), ["Bash", "Edit", "Glob", "Grep", "Read", "Write"]);
        }
      },
    ),
});

Deno.test({
  name: "claude output parsing: final text, session id, summed token usage and cost",
  ...cli,
  fn: () =>
    withRealRun(
      { runner: "claude", profile: "query", script: "read_then_answer.json" },
      (run, why) => {
        const { outcome, fake } = run;
        assert.equal(outcome.state, "succeeded", why);
        assert.equal(outcome.error, null);
        assert.match(outcome.claims.final_text ?? "", /^The file says: .*secret-content-42/s, why);
        // The session id the CLI reported is the one it sent to the API.
        const sessionHeader = fake.requestsFor("anthropic")[0].headers["x-claude-code-session-id"];
        assert.match(outcome.claims.session_id ?? "", /^[0-9a-f-]{36}$/, why);
        assert.equal(outcome.claims.session_id, sessionHeader);
        // Usage is the sum over both scripted answers (123+77 in, 45+6 out).
        assert.equal(outcome.evidence.usage.input_tokens, 200, why);
        assert.equal(outcome.evidence.usage.output_tokens, 51, why);
        // Claude computes a cost from its own price table.
        assert.ok((outcome.evidence.usage.cost_usd ?? 0) > 0, why);
        assert.equal(outcome.evidence.exit_code, 0);
        // The CLI's events reached the task log: init, the tool call, its result, the answer.
        assert.match(
          eventsOf(run, "log")[0]?.text ?? "",
          /^claude started: .*permission mode dontAsk/,
        );
        assert.ok(eventsOf(run, "tool").some((e) => e.text.startsWith("Read ")), why);
        assert.ok(eventsOf(run, "message").length >= 1, why);
        // The API key went out as x-api-key; nonessential traffic is off in the manifest.
        assert.equal(fake.requestsFor("anthropic")[0].auth, "x-api-key");
        assert.equal(run.invocation.env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC, "1");
      },
    ),
});

for (const status of [500, 401]) {
  Deno.test({
    name: `claude API error ${status}: failed with the CLI's error, bounded retries, no hang`,
    ...cli,
    fn: () =>
      withRealRun(
        { runner: "claude", profile: "query", script: `http_${status}.json`, timeoutMs: 45_000 },
        (run, why) => {
          const { outcome, fake } = run;
          assert.equal(outcome.state, "failed", why);
          assert.equal(outcome.error?.code, "runner_api_error", why);
          assert.match(outcome.error?.message ?? "", new RegExp(`status ${status}`), why);
          const maxRetries = Number(run.invocation.env.CLAUDE_CODE_MAX_RETRIES);
          assert.ok(maxRetries >= 0 && maxRetries <= 3, "the manifest bounds retries");
          // One request plus at most CLAUDE_CODE_MAX_RETRIES retries.
          const calls = fake.requestsFor("anthropic").length;
          assert.ok(calls >= 1 && calls <= 1 + maxRetries, `${calls} requests; ${why}`);
          // No hang: the run ended as failed (not timed out) after the bounded retries above.
          console.log(`  took ${Math.round(run.wallMs)} ms`);
        },
      ),
  });
}

/**
 * Cancels while the scripted `sleep 313` runs in Claude's Bash tool (see `cancelMidTool` for
 * the checks every cancel gets), and checks that the tool ran in a session of its own (Claude
 * starts it with setsid, out of reach of a process-group kill).
 */
async function cancelClaudeMidTool(cancelSignals?: string[]) {
  let cliPid: number | null = null;
  const cancelled = await cancelMidTool({
    runner: "claude",
    profile: "build",
    manifest: cancelSignals
      ? (m) => ({ ...m, cancel: { ...m.cancel, signals: cancelSignals as never } })
      : undefined,
  }, (p) => {
    cliPid = liveWithMarker(p.token).find((r) => r.args.startsWith(p.invocation.argv[0]))
      ?.pid ?? null;
  });
  // The tool ran in a session of its own (setsid), not the CLI's: a process-group kill
  // could not have reached it.
  const s = cancelled.sleeper;
  assert.ok(cliPid !== null && s.sid !== cliPid, `tool sid ${s.sid}, CLI pid ${cliPid}`);
  return cancelled;
}

Deno.test({
  name:
    "claude cancel mid-tool (SIGINT first, the manifest's sequence): cancelled, nothing survives, < 5 s",
  ...cli,
  fn: async () => {
    await cancelClaudeMidTool();
  },
});

Deno.test({
  name: "claude cancel mid-tool with SIGTERM first: the setsid'd tool process is still swept",
  ...cli,
  fn: async () => {
    // SIGTERM makes Claude exit at once and orphan its Bash tool (runners.md §5); only the
    // supervisor's sweep by run marker can reach it.
    const { run } = await cancelClaudeMidTool(["SIGTERM", "SIGKILL"]);
    // Claude handles SIGTERM by exiting 143 at once, leaving its tool behind.
    assert.equal(run.outcome.evidence.exit_code, 143, describeRun(run));
  },
});
