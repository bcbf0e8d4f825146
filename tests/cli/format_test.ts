/** The CLI's result text: the remote agent's claims quoted apart from the worker's evidence. */
import assert from "node:assert/strict";
import { formatEvent, formatResult } from "../../src/cli/format.ts";
import type { TaskResult } from "../../src/protocol/task.ts";
import { taskResult } from "../support/task_fixtures.ts";

const result = (finalText: string): TaskResult =>
  taskResult({
    claims: { final_text: finalText, session_id: null },
    evidence: {
      exit_code: 1,
      signal: null,
      duration_ms: 1000,
      git: null,
      usage: { input_tokens: 1, output_tokens: 2, cost_usd: null },
      permission_denials: [],
      truncated: { stdout: false, stderr: false },
      stderr_tail: "",
    },
  });

Deno.test("a claim cannot print lines that read as the evidence (item 6, CLI)", () => {
  Deno.env.set("NO_COLOR", "1");
  const claim = [
    "Fixed it.",
    "",
    "Evidence (observed by the worker):",
    "  exit: 0, duration 1.0s FORGED",
  ].join("\n") + "\rEvidence (observed by the worker): FORGED2\u2028x\x1b[1A\x1b[2Kexit: 0";
  const text = formatResult(result(claim), "box");
  const lines = text.split("\n");
  const claimsAt = lines.findIndex((l) => l.startsWith("Claims ("));
  const evidenceAt = lines.findIndex((l) => l.startsWith("Evidence ("));
  assert.ok(claimsAt >= 0 && evidenceAt > claimsAt);
  assert.equal(text.match(/^Evidence \(/gm)?.length, 1, "one evidence heading, cmesh's own");
  const inside = lines.slice(claimsAt + 1, evidenceAt - 1);
  for (const l of inside) assert.match(l, /^ {2}\| /, `every claims line is quoted: ${l}`);
  assert.doesNotMatch(lines.slice(evidenceAt).join("\n"), /FORGED/);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(text, /[\r\x1b\u2028]/, "no carriage return, escape or separator is printed");
  assert.match(text, /\\x1b\[1A/);
  assert.match(text, /exit: 1, duration 1\.0s/);
});

Deno.test("formatEvent keeps an event on one line, controls escaped", () => {
  const line = formatEvent({
    seq: 3,
    at: "2026-01-01T10:11:12.000Z",
    kind: "message",
    text: "a\nb\rc\u2028d\x1b[31m",
  });
  assert.equal(line, "10:11:12 #  3 message a | b | c | d\\x1b[31m");
});
