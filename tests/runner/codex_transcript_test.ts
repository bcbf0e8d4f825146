/**
 * @module
 * Tests for codex_transcript.ts: refusals found in a Codex rollout transcript, and finding the
 * transcript of a thread under CODEX_HOME.
 */
import assert from "node:assert/strict";
import {
  codexTranscriptDenials,
  findCodexTranscript,
  readCodexTranscriptDenials,
} from "../../src/runner/codex_transcript.ts";

const item = (payload: Record<string, unknown>) =>
  JSON.stringify({ type: "response_item", payload });

const TRANSCRIPT = [
  JSON.stringify({ type: "session_meta", payload: { id: "t" } }),
  item({
    type: "function_call",
    call_id: "c1",
    name: "exec_command",
    arguments: '{"cmd":"cat n"}',
  }),
  item({ type: "function_call_output", call_id: "c1", output: "Output:\nhello\n" }),
  item({
    type: "custom_tool_call",
    call_id: "c2",
    name: "apply_patch",
    input: "*** Begin Patch\n*** Add File: a.txt\n+x\n*** Update File: b.txt\n*** End Patch\n",
  }),
  item({
    type: "custom_tool_call_output",
    call_id: "c2",
    output:
      "patch rejected: writing is blocked by read-only sandbox; rejected by user approval settings",
  }),
  item({
    type: "function_call",
    call_id: "c3",
    name: "exec_command",
    arguments: '{"cmd":"echo x > f"}',
  }),
  item({
    type: "function_call_output",
    call_id: "c3",
    output: "Process exited with code 1\nOutput:\n/bin/bash: line 1: f: Read-only file system\n",
  }),
  item({
    type: "function_call",
    call_id: "c4",
    name: "exec_command",
    arguments: '{"cmd":"sudo x"}',
  }),
  item({
    type: "function_call_output",
    call_id: "c4",
    output: [{
      type: "input_text",
      text:
        "approval policy is Never; reject command — you cannot ask for escalated permissions if the approval policy is Never",
    }],
  }),
  '{"type":"response_item","payload":{"type":"function_call_output","call_id":"c5","output":"Read-only file sys', // cut
].join("\n");

Deno.test("transcript denials: sandbox EROFS, rejected patch, rejected escalation; in order", () => {
  assert.deepEqual(codexTranscriptDenials(TRANSCRIPT), [
    {
      tool: "apply_patch",
      detail:
        "a.txt, b.txt: patch rejected: writing is blocked by read-only sandbox; rejected by user approval settings",
    },
    { tool: "exec_command", detail: "echo x > f: blocked by the sandbox (Read-only file system)" },
    {
      tool: "exec_command",
      detail:
        "sudo x: approval policy is Never; reject command — you cannot ask for escalated permissions if the approval policy is Never",
    },
  ]);
});

Deno.test("transcript denials: nothing refused, nothing reported", () => {
  assert.deepEqual(codexTranscriptDenials(TRANSCRIPT.split("\n").slice(0, 3).join("\n")), []);
  assert.deepEqual(codexTranscriptDenials("not json\n{}\n"), []);
});

Deno.test("finding a thread's transcript under CODEX_HOME/sessions/Y/M/D", async () => {
  const home = await Deno.makeTempDir();
  try {
    const id = "01a2187b-2782-7af1-8d79-f3950711fbc1";
    assert.equal(await findCodexTranscript(home, id), null, "no sessions dir");
    assert.equal(await readCodexTranscriptDenials(home, id), null);
    const day = `${home}/sessions/2026/11/26`;
    await Deno.mkdir(day, { recursive: true });
    await Deno.writeTextFile(`${day}/rollout-2026-11-26T15-30-53-other.jsonl`, "");
    const path = `${day}/rollout-2026-11-26T15-30-53-${id}.jsonl`;
    await Deno.writeTextFile(path, TRANSCRIPT);
    assert.equal(await findCodexTranscript(home, id), path);
    assert.equal((await readCodexTranscriptDenials(home, id))?.length, 3);
    assert.equal(await findCodexTranscript(home, "../../etc"), null, "ids are checked");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
