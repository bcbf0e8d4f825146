/**
 * @module
 * The plain-text parser: lines are messages, the output is the final text, exit 0 is success.
 */
import assert from "node:assert/strict";
import { MAX_FINAL_TEXT_CHARS, TextParser } from "../../../src/runner/parsers/text.ts";
import { createParser } from "../../../src/runner/parsers/mod.ts";

Deno.test("lines become messages and the final text", () => {
  const p = createParser("text");
  assert.ok(p instanceof TextParser);
  assert.deepEqual(p.feedLine("first\r"), [{ kind: "message", text: "first" }]);
  assert.deepEqual(p.feedLine(""), []);
  p.feedLine("second");
  const outcome = p.finish({ code: 0, signal: null });
  assert.deepEqual(outcome, {
    claims: { final_text: "first\n\nsecond", session_id: null },
    usage: { input_tokens: null, output_tokens: null, cost_usd: null },
    denials: [],
    error: null,
    success: true,
  });
});

Deno.test("non-zero exit and signals are failures", () => {
  const a = new TextParser().finish({ code: 3, signal: null });
  assert.deepEqual(a.error, { code: "runner_exit_nonzero", message: "runner exited with code 3" });
  const b = new TextParser().finish({ code: null, signal: "SIGKILL" });
  assert.equal(b.success, false);
  assert.equal(b.error?.message, "runner was killed by SIGKILL");
});

Deno.test("empty output gives a null final text", () => {
  assert.equal(new TextParser().finish({ code: 0, signal: null }).claims.final_text, null);
});

Deno.test("the final text keeps the tail of long output", () => {
  const p = new TextParser();
  for (let i = 0; i < 5000; i++) p.feedLine(`line ${i} ${"x".repeat(100)}`);
  const text = p.finish({ code: 0, signal: null }).claims.final_text!;
  assert.ok(text.startsWith("[earlier output dropped]\n"));
  assert.ok(text.endsWith(`line 4999 ${"x".repeat(100)}`));
  assert.ok(text.length <= MAX_FINAL_TEXT_CHARS + 30);
});
