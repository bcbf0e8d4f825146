/**
 * @module
 * The parsers against stdout **captured from the real CLIs** (`testdata/runners/captured/`,
 * written by `tests/runners_real/capture.ts`; versions in its `index.json`). The expectations
 * below are written by hand from the scripts the fake model played, not copied from the parser.
 */
import assert from "node:assert/strict";
import { createParser } from "../../../src/runner/parsers/mod.ts";
import type { ExitStatus, ParseOutcome } from "../../../src/runner/parsers/types.ts";
import type { OutputFormat } from "../../../src/runner/manifest.ts";
import type { RunnerEvent } from "../../../src/runner/types.ts";

const DIR = new URL("../../testdata/runners/captured/", import.meta.url);

interface IndexEntry {
  file: string;
  runner: string;
  cli_version: string;
  format: OutputFormat;
  exit: ExitStatus;
  cancelled: boolean;
}

const INDEX: IndexEntry[] = JSON.parse(Deno.readTextFileSync(new URL("index.json", DIR)));

function parse(file: string) {
  const entry = INDEX.find((e) => e.file === file);
  assert.ok(entry, `${file} is listed in index.json`);
  const parser = createParser(entry.format);
  const events: RunnerEvent[] = [];
  for (const line of Deno.readTextFileSync(new URL(file, DIR)).split("\n")) {
    events.push(...parser.feedLine(line));
  }
  return { entry, events, outcome: parser.finish(entry.exit) };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function assertSucceeded(o: ParseOutcome, input: number, output: number) {
  assert.equal(o.success, true, JSON.stringify(o.error));
  assert.equal(o.error, null);
  assert.match(o.claims.session_id ?? "", UUID);
  assert.equal(o.usage.input_tokens, input);
  assert.equal(o.usage.output_tokens, output);
}

Deno.test("captured: every file is listed, every listed file exists, versions recorded", () => {
  const files = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => n.endsWith(".jsonl"));
  assert.deepEqual(files.sort(), INDEX.map((e) => e.file).sort());
  for (const e of INDEX) assert.match(e.cli_version, /\d+\.\d+\.\d+/);
});

Deno.test("captured claude 2-turn read: text, session, usage summed, cost reported", () => {
  const { outcome, events } = parse("claude_read_then_answer.jsonl");
  assertSucceeded(outcome, 123 + 77, 45 + 6);
  assert.match(outcome.claims.final_text ?? "", /^The file says: 1\tsecret-content-42\n/);
  assert.ok((outcome.usage.cost_usd ?? 0) > 0);
  assert.match(
    events[0].text,
    /^claude started: model .*, tools \[Glob, Grep, Read\], permission mode dontAsk$/,
  );
  assert.ok(events.some((e) => e.kind === "tool" && e.text === "Read $WORKDIR/notes.txt"));
});

Deno.test("captured claude query: Write and Bash not offered → two denials, still a success", () => {
  const { outcome } = parse("claude_query_read_write_shell.jsonl");
  assertSucceeded(outcome, 300, 60);
  assert.deepEqual(outcome.denials.map((d) => d.tool), ["Write", "Bash"]);
  for (const d of outcome.denials) {
    assert.match(d.detail, /^not offered by this profile: .*No such tool available/);
  }
  assert.match(outcome.claims.final_text ?? "", /secret-content-42/);
});

Deno.test("captured claude edit: Write ran, Bash not offered", () => {
  const { outcome } = parse("claude_edit_read_write_shell.jsonl");
  assertSucceeded(outcome, 300, 60);
  assert.deepEqual(outcome.denials.map((d) => d.tool), ["Bash"]);
  assert.match(
    outcome.claims.final_text ?? "",
    /File created successfully at: \$WORKDIR\/written\.txt/,
  );
});

Deno.test("captured claude build: Write and Bash ran, no denials", () => {
  const { outcome, events } = parse("claude_build_read_write_shell.jsonl");
  assertSucceeded(outcome, 300, 60);
  assert.deepEqual(outcome.denials, []);
  assert.ok(
    events.some((e) => e.kind === "tool" && e.text === "Bash echo shell-was-here > shell.txt"),
  );
});

Deno.test("captured claude API errors: runner_api_error with the status and the CLI's text", () => {
  for (const status of [500, 401]) {
    const { outcome } = parse(`claude_http_${status}.jsonl`);
    assert.equal(outcome.success, false);
    assert.equal(outcome.claims.final_text, null);
    assert.equal(outcome.error?.code, "runner_api_error");
    assert.match(
      outcome.error?.message ?? "",
      new RegExp(`^claude reported an API error \\(status ${status}\\): .*${status}`),
    );
  }
});

Deno.test("captured cancellations are never a success", () => {
  for (const file of ["claude_cancel_mid_tool.jsonl", "codex_cancel_mid_tool.jsonl"]) {
    const { outcome, entry } = parse(file);
    assert.equal(entry.cancelled, true);
    assert.equal(outcome.success, false, file);
    assert.equal(outcome.claims.final_text, null, file);
    assert.ok(outcome.error !== null, file);
  }
});

Deno.test("captured codex 2-turn read: text, thread id, usage summed, no cost", () => {
  const { outcome, events } = parse("codex_read_then_answer.jsonl");
  assertSucceeded(outcome, 200, 51);
  assert.equal(outcome.usage.cost_usd, null);
  assert.match(outcome.claims.final_text ?? "", /^The file says: .*Output:\nsecret-content-42\n$/s);
  assert.ok(
    events.some((e) => e.kind === "tool" && e.text === "$ /bin/bash -c 'cat notes.txt' → exit 0"),
  );
});

Deno.test("captured codex query: the refused patch and shell write leave no JSONL trace", () => {
  // Why cmesh reads codex's transcript for denials (src/runner/codex_transcript.ts): the JSONL
  // has neither the rejected apply_patch nor the sandbox-blocked command.
  const { outcome, events } = parse("codex_query_read_write_shell.jsonl");
  assertSucceeded(outcome, 300, 60);
  assert.deepEqual(outcome.denials, []);
  assert.deepEqual(events.filter((e) => e.kind === "tool").map((e) => e.text), [
    "$ /bin/bash -c 'cat notes.txt'",
    "$ /bin/bash -c 'cat notes.txt' → exit 0",
  ]);
  assert.match(
    outcome.claims.final_text ?? "",
    /patch rejected: writing is blocked by read-only sandbox/,
  );
  assert.match(outcome.claims.final_text ?? "", /shell\.txt: Read-only file system/);
});

Deno.test("captured codex edit: file_change for the patch, the shell write ran", () => {
  const { outcome, events } = parse("codex_edit_read_write_shell.jsonl");
  assertSucceeded(outcome, 300, 60);
  assert.ok(events.some((e) => e.text === "file change (completed): add $WORKDIR/written.txt"));
  assert.ok(
    events.some((e) => e.text === "$ /bin/bash -c 'echo shell-was-here > shell.txt' → exit 0"),
  );
});

Deno.test("captured codex API errors: runner_turn_failed with codex's own message", () => {
  const expected: Record<number, RegExp> = {
    500: /^codex turn failed: We’re currently experiencing high demand/,
    401: /^codex turn failed: unexpected status 401 Unauthorized: scripted error 401/,
  };
  for (const status of [500, 401]) {
    const { outcome } = parse(`codex_http_${status}.jsonl`);
    assert.equal(outcome.success, false);
    assert.equal(outcome.error?.code, "runner_turn_failed");
    assert.match(outcome.error?.message ?? "", expected[status]);
  }
});
