/**
 * @module
 * The Codex JSONL parser against the samples in `testdata/runners/` (from runners.md).
 */
import assert from "node:assert/strict";
import { createParser } from "../../../src/runner/parsers/mod.ts";
import type { ExitStatus } from "../../../src/runner/parsers/types.ts";
import type { RunnerEvent } from "../../../src/runner/types.ts";

const SAMPLES = new URL("../../testdata/runners/", import.meta.url);

function run(file: string, exit: ExitStatus) {
  const parser = createParser("codex-jsonl");
  const events: RunnerEvent[] = [];
  for (const line of Deno.readTextFileSync(new URL(file, SAMPLES)).split("\n")) {
    events.push(...parser.feedLine(line));
  }
  return { events, outcome: parser.finish(exit) };
}
const OK: ExitStatus = { code: 0, signal: null };
const ONE: ExitStatus = { code: 1, signal: null };
const TERM: ExitStatus = { code: null, signal: "SIGTERM" };

Deno.test("read: command events, last agent message, thread id, tokens, no cost", () => {
  const { events, outcome } = run("codex_read.jsonl", OK);
  assert.deepEqual(events.map((e) => e.kind), ["log", "tool", "tool", "message", "usage"]);
  assert.equal(events[1].text, "$ /bin/bash -c 'cat notes.txt'");
  assert.equal(events[2].text, "$ /bin/bash -c 'cat notes.txt' → exit 0");
  assert.equal(events[2].data?.output, "secret-content-42\n");
  assert.equal(outcome.success, true);
  assert.equal(outcome.error, null);
  assert.equal(outcome.claims.session_id, "01a2182c-c938-76e0-bf08-669f51686119");
  assert.match(outcome.claims.final_text!, /^The file says: Chunk ID: cd7171\n/);
  assert.deepEqual(outcome.usage, { input_tokens: 200, output_tokens: 40, cost_usd: null });
  assert.deepEqual(outcome.denials, []);
});

Deno.test("apply_patch: file_change becomes a tool event with the paths", () => {
  const { events, outcome } = run("codex_apply_patch.jsonl", OK);
  const change = events.find((e) => e.data?.tool === "file_change");
  assert.equal(change?.text, "file change (completed): add $WORKDIR/patched.txt");
  assert.equal(outcome.claims.final_text, "Created patched.txt.");
  assert.equal(outcome.success, true);
});

Deno.test("read-only sandbox blocking a write is recorded as a denial; run still succeeds", () => {
  const { events, outcome } = run("codex_readonly_write_blocked.jsonl", OK);
  assert.equal(outcome.success, true);
  assert.deepEqual(outcome.denials, [{
    tool: "command_execution",
    detail:
      "/bin/bash -c 'echo x > out.txt; echo write-rc=$?': blocked by the sandbox (Read-only file system)",
  }]);
  assert.equal(events.filter((e) => e.kind === "denial").length, 1);
});

Deno.test("unknown model: the error item is an event, not a failure", () => {
  const { events, outcome } = run("codex_unknown_model.jsonl", OK);
  assert.ok(events.some((e) => e.kind === "error" && e.text.startsWith("Model metadata for")));
  assert.equal(outcome.success, true);
  assert.equal(outcome.claims.final_text, "hello from gpt-fake");
});

Deno.test("HTTP 500: turn.failed is a failure carrying the message", () => {
  const { events, outcome } = run("codex_http_500.jsonl", ONE);
  assert.equal(outcome.success, false);
  assert.deepEqual(outcome.error, {
    code: "runner_turn_failed",
    message:
      "codex turn failed: unexpected status 500 Internal Server Error: scripted error, url: http://127.0.0.1:PORT/v1/responses",
  });
  assert.ok(events.some((e) => e.kind === "error" && e.text.startsWith("Reconnecting... 1/5")));
});

Deno.test("HTTP 401: failure with the status text", () => {
  const { outcome } = run("codex_http_401.jsonl", ONE);
  assert.equal(outcome.error?.code, "runner_turn_failed");
  assert.match(outcome.error!.message, /401 Unauthorized: bad key/);
  assert.equal(outcome.claims.session_id, "01a21836-0000-7000-8000-000000000401");
});

Deno.test("missing provider key: failure naming the variable", () => {
  const { outcome } = run("codex_missing_env_key.jsonl", ONE);
  assert.match(outcome.error!.message, /Missing environment variable: `FAKE_API_KEY`/);
});

Deno.test("turn.failed is a failure even with exit 0", () => {
  const { outcome } = run("codex_http_401.jsonl", OK);
  assert.equal(outcome.success, false);
});

Deno.test("SIGTERM during the model: no turn.completed, not success", () => {
  const { outcome } = run("codex_cancelled_sigterm_model.jsonl", TERM);
  assert.equal(outcome.success, false);
  assert.equal(outcome.error?.code, "runner_no_result");
  assert.match(outcome.error!.message, /^codex was killed by SIGTERM without completing its turn/);
});

Deno.test("SIGTERM during a tool: last event item.started, not success", () => {
  const { events, outcome } = run("codex_cancelled_sigterm_tool.jsonl", TERM);
  assert.equal(events.at(-1)?.data?.status, "in_progress");
  assert.equal(outcome.success, false);
});

Deno.test("exit 0 without turn.completed is not success", () => {
  const { outcome } = run("codex_cancelled_sigterm_model.jsonl", OK);
  assert.equal(outcome.success, false);
  assert.match(outcome.error!.message, /exited with code 0 without completing its turn/);
});

Deno.test("SIGINT: exit 1 after a completed turn is not success", () => {
  const { outcome } = run("codex_read.jsonl", ONE);
  assert.equal(outcome.success, false);
  assert.equal(outcome.error?.code, "runner_exit_nonzero");
});

Deno.test("non-JSON lines are log events; unknown event types are logged", () => {
  const parser = createParser("codex-jsonl");
  assert.deepEqual(parser.feedLine("Reading additional input from stdin..."), [
    { kind: "log", text: "Reading additional input from stdin..." },
  ]);
  assert.equal(parser.feedLine('{"type":"thread.resumed"}')[0].text, "codex event thread.resumed");
  assert.deepEqual(parser.feedLine('{"type":"turn.started"}'), []);
});

Deno.test("usage from several turns is added up", () => {
  const parser = createParser("codex-jsonl");
  parser.feedLine('{"type":"turn.completed","usage":{"input_tokens":10,"output_tokens":1}}');
  parser.feedLine('{"type":"turn.completed","usage":{"input_tokens":5,"output_tokens":2}}');
  assert.deepEqual(parser.finish(OK).usage, { input_tokens: 15, output_tokens: 3, cost_usd: null });
});
