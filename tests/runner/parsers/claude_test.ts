/**
 * @module
 * The Claude parser against the samples in `testdata/runners/` (from runners.md):
 * success, denials, tools not offered, API errors, max turns, cancellation.
 */
import assert from "node:assert/strict";
import { ClaudeParser } from "../../../src/runner/parsers/claude.ts";
import { createParser } from "../../../src/runner/parsers/mod.ts";
import type { ExitStatus } from "../../../src/runner/parsers/types.ts";
import type { RunnerEvent } from "../../../src/runner/types.ts";

const SAMPLES = new URL("../../testdata/runners/", import.meta.url);

function run(file: string, format: "claude-json" | "claude-stream-json", exit: ExitStatus) {
  const text = Deno.readTextFileSync(new URL(file, SAMPLES));
  const parser = createParser(format);
  assert.ok(parser instanceof ClaudeParser);
  const events: RunnerEvent[] = [];
  for (const line of text.split("\n")) events.push(...parser.feedLine(line));
  return { events, outcome: parser.finish(exit) };
}
const OK: ExitStatus = { code: 0, signal: null };
const ONE: ExitStatus = { code: 1, signal: null };

Deno.test("stream-json read: events in order, final text, session, usage, cost", () => {
  const { events, outcome } = run("claude_stream_read.jsonl", "claude-stream-json", OK);
  assert.deepEqual(events.map((e) => e.kind), ["log", "tool", "tool", "message", "usage"]);
  assert.equal(
    events[0].text,
    "claude started: model claude-opus-4-8[1m], tools [Glob, Grep, Read], permission mode dontAsk",
  );
  assert.equal(events[1].text, "Read notes.txt");
  assert.equal(events[2].text, "Read returned: 1\tsecret-content-42\n2\t");
  assert.equal(events[4].text, "200 input / 40 output tokens, $0.002");
  assert.deepEqual(outcome, {
    claims: {
      final_text: "The file says: 1\tsecret-content-42\n2\t",
      session_id: "1e26a9c4-7f1e-4c55-9a3e-2b1d8f0c6a11",
    },
    usage: { input_tokens: 200, output_tokens: 40, cost_usd: 0.002 },
    denials: [],
    error: null,
    success: true,
  });
});

Deno.test("json success: one message event from the result", () => {
  const { events, outcome } = run("claude_json_success.jsonl", "claude-json", OK);
  assert.deepEqual(events.map((e) => e.kind), ["message", "usage"]);
  assert.equal(outcome.success, true);
  assert.equal(outcome.claims.session_id, "2f377249-e543-4def-9e7e-75fadd8cb7cc");
  assert.equal(outcome.claims.final_text, "The file says: 1\tsecret-content-42\n2\t");
});

Deno.test("input tokens include cache creation and cache reads", () => {
  const { outcome } = run("claude_json_cached_usage.jsonl", "claude-json", OK);
  assert.deepEqual(outcome.usage, { input_tokens: 23012, output_tokens: 350, cost_usd: 0.0421 });
});

Deno.test("json denial (plan mode): listed with tool and path; still a success", () => {
  const { events, outcome } = run("claude_json_denial_plan.jsonl", "claude-json", OK);
  assert.equal(outcome.success, true);
  assert.deepEqual(outcome.denials, [{ tool: "Write", detail: "$WORKDIR/out.txt" }]);
  assert.ok(events.some((e) => e.kind === "denial" && e.text === "Write: $WORKDIR/out.txt"));
});

Deno.test("stream denial (dontAsk): detail carries Claude's reason from the tool result", () => {
  const { events, outcome } = run("claude_stream_denial_dontask.jsonl", "claude-stream-json", OK);
  assert.equal(outcome.success, true);
  assert.equal(outcome.denials.length, 1);
  assert.equal(outcome.denials[0].tool, "Write");
  assert.match(
    outcome.denials[0].detail,
    /^\$WORKDIR\/out\.txt: Permission to use Write has been denied because Claude Code is running in don't ask mode/,
  );
  assert.equal(events.filter((e) => e.kind === "denial").length, 1);
  assert.ok(events.some((e) => e.kind === "tool" && e.text.startsWith("Write failed: ")));
});

Deno.test("a tool the profile does not offer is reported as a denial", () => {
  const { events, outcome } = run("claude_stream_not_offered.jsonl", "claude-stream-json", OK);
  assert.equal(outcome.success, true);
  assert.deepEqual(outcome.denials, [{
    tool: "Bash",
    detail:
      "not offered by this profile: <tool_use_error>Error: No such tool available: Bash</tool_use_error>",
  }]);
  assert.equal(
    events.find((e) => e.kind === "tool")?.text,
    "Bash echo x > bash.txt; cat notes.txt",
  );
});

Deno.test("API 401: failure with the runner's own text", () => {
  const { events, outcome } = run("claude_json_api_401.jsonl", "claude-json", ONE);
  assert.equal(outcome.success, false);
  assert.deepEqual(outcome.error, {
    code: "runner_api_error",
    message: "claude reported an API error (status 401): Invalid API key · Fix external API key",
  });
  assert.equal(outcome.claims.final_text, null);
  assert.equal(outcome.claims.session_id, "0c1d2e3f-4a5b-4c6d-8e7f-8a9b0c1d2e3f");
  assert.ok(!events.some((e) => e.kind === "message"), "an error is not a message");
  assert.ok(events.some((e) => e.kind === "error"));
});

Deno.test("API 500: failure even though subtype says success", () => {
  const { outcome } = run("claude_json_api_500.jsonl", "claude-json", ONE);
  assert.equal(outcome.success, false);
  assert.equal(outcome.error?.code, "runner_api_error");
  assert.match(
    outcome.error!.message,
    /^claude reported an API error \(status 500\): API Error: 500 scripted error/,
  );
});

Deno.test("API error is a failure even if the exit code were 0", () => {
  const { outcome } = run("claude_json_api_401.jsonl", "claude-json", OK);
  assert.equal(outcome.success, false);
});

Deno.test("not logged in: failure naming the login problem", () => {
  const { outcome } = run("claude_json_not_logged_in.jsonl", "claude-json", ONE);
  assert.deepEqual(outcome.error, {
    code: "runner_error",
    message:
      "claude reported an error (subtype success, terminal_reason completed): Not logged in · Please run /login",
  });
});

Deno.test("max turns: failure with its own code and the errors[] text", () => {
  const { outcome } = run("claude_json_max_turns.jsonl", "claude-json", ONE);
  assert.equal(outcome.error?.code, "runner_max_turns");
  assert.match(outcome.error!.message, /Reached maximum number of turns \(1\)/);
  assert.equal(outcome.usage.input_tokens, 100);
});

Deno.test("SIGINT during the model: exit 0 with no result is NOT success", () => {
  const { outcome } = run("claude_stream_cancelled_sigint_model.jsonl", "claude-stream-json", OK);
  assert.equal(outcome.success, false);
  assert.equal(outcome.error?.code, "runner_no_result");
  assert.match(outcome.error!.message, /exited with code 0 without printing a result/);
  assert.equal(outcome.claims.session_id, "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a");
  assert.deepEqual(outcome.usage, { input_tokens: null, output_tokens: null, cost_usd: null });
});

Deno.test("SIGTERM: no stdout at all, killed by signal", () => {
  const parser = createParser("claude-stream-json");
  const outcome = parser.finish({ code: null, signal: "SIGTERM" });
  assert.equal(outcome.success, false);
  assert.match(outcome.error!.message, /^claude was killed by SIGTERM without printing a result/);
});

Deno.test("SIGINT during a tool: aborted_tools result is a failure", () => {
  const { outcome } = run("claude_stream_aborted_tools.jsonl", "claude-stream-json", ONE);
  assert.equal(outcome.success, false);
  assert.equal(outcome.error?.code, "runner_error");
  assert.match(
    outcome.error!.message,
    /subtype error_during_execution, terminal_reason aborted_tools/,
  );
});

Deno.test("a successful result with a non-zero exit is not success", () => {
  const { outcome } = run("claude_json_success.jsonl", "claude-json", { code: 2, signal: null });
  assert.equal(outcome.success, false);
  assert.equal(outcome.error?.code, "runner_exit_nonzero");
  assert.equal(outcome.claims.final_text, "The file says: 1\tsecret-content-42\n2\t");
});

Deno.test("non-JSON lines are tolerated as log events; blank lines ignored", () => {
  const parser = createParser("claude-stream-json");
  assert.deepEqual(parser.feedLine("Warning: something odd\r"), [
    { kind: "log", text: "Warning: something odd" },
  ]);
  assert.deepEqual(parser.feedLine(""), []);
  assert.deepEqual(parser.feedLine("[1,2]"), [{ kind: "log", text: "[1,2]" }]);
  parser.feedLine('{"type":"result","subtype":"success","is_error":false,"result":"ok"}');
  assert.equal(parser.finish(OK).success, true);
});

Deno.test("huge lines are cut in events, over-long lines skipped", () => {
  const parser = createParser("claude-stream-json");
  const [ev] = parser.feedLine("x".repeat(5000));
  assert.equal(ev.kind, "log");
  assert.ok(ev.text.length < 2100 && ev.text.endsWith("[3000 more characters]"));
  const big = '{"type":"result","result":"' + "y".repeat(8 * 1024 * 1024) + '"}';
  const [skipped] = parser.feedLine(big);
  assert.match(skipped.text, /^output line of \d+ characters skipped/);
  assert.equal(parser.finish(OK).success, false);
});

Deno.test("claude-json pretty-printed over several lines is still understood", () => {
  const parser = createParser("claude-json");
  const pretty = JSON.stringify(
    { type: "result", subtype: "success", is_error: false, result: "multi", session_id: "s1" },
    null,
    2,
  );
  for (const line of pretty.split("\n")) parser.feedLine(line);
  const outcome = parser.finish(OK);
  assert.equal(outcome.success, true);
  assert.equal(outcome.claims.final_text, "multi");
  assert.equal(outcome.claims.session_id, "s1");
});
