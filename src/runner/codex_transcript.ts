/**
 * @module
 * Denials from Codex's own session transcript. codex-cli 0.171 leaves **no JSONL event and no
 * stderr line** for a command its sandbox blocked (a write under `--sandbox read-only` fails
 * with "Read-only file system" and the command never shows up as an item), and only an
 * `ERROR` log line for a rejected `apply_patch`. The transcript it writes to
 * `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread_id>.jsonl` does hold every tool call
 * and its output, so after the run the worker reads it and reports what the sandbox refused.
 *
 * {@link codexTranscriptDenials} is pure (transcript text in, denials out);
 * {@link readCodexTranscriptDenials} finds and reads the file (bounded).
 *
 * @example
 * ```ts
 * import { readCodexTranscriptDenials } from "./codex_transcript.ts";
 * const threadId = "0199a213-81c0-7800-8aa1-bbab2a035a53"; // from codex's `thread.started`
 * const denials = await readCodexTranscriptDenials("/var/lib/cmesh/runners/codex", threadId);
 * // null when the transcript could not be found; else e.g.
 * // [{ tool: "exec_command", detail: "echo x > f: blocked by the sandbox (Read-only file system)" }]
 * ```
 */
import type { PermissionDenial } from "../protocol/task.ts";

/** Most bytes of a transcript read. */
export const MAX_TRANSCRIPT_BYTES = 32 * 1024 * 1024;
/** Newest day directories searched for the transcript. */
const DAY_DIRS_SEARCHED = 3;
const DETAIL_CHARS = 500;

const obj = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : {};

function outputText(output: unknown): string {
  if (typeof output === "string") return output;
  if (Array.isArray(output)) {
    return output.map((b) => typeof obj(b).text === "string" ? obj(b).text as string : "")
      .join("\n");
  }
  return typeof obj(output).content === "string" ? obj(output).content as string : "";
}

function cut(text: string): string {
  return text.length <= DETAIL_CHARS ? text : `${text.slice(0, DETAIL_CHARS)}…`;
}

/** The reason a tool output shows a refusal, or null. */
function refusal(output: string): string | null {
  if (/read-only file system/i.test(output)) {
    return "blocked by the sandbox (Read-only file system)";
  }
  const line = output.split("\n").find((l) =>
    /^patch rejected\b|rejected by user approval settings|\breject command\b|cannot ask for escalated permissions/i
      .test(l)
  );
  return line === undefined ? null : line.trim();
}

/**
 * Scans a Codex transcript (rollout JSONL) for tool calls that the sandbox or the approval
 * policy refused, in call order.
 *
 * @example
 * ```ts
 * codexTranscriptDenials([
 *   '{"type":"response_item","payload":{"type":"function_call","call_id":"c1","name":"exec_command","arguments":"{\\"cmd\\":\\"echo x > f\\"}"}}',
 *   '{"type":"response_item","payload":{"type":"function_call_output","call_id":"c1","output":"bash: f: Read-only file system"}}',
 * ].join("\n"));
 * // [{ tool: "exec_command", detail: "echo x > f: blocked by the sandbox (Read-only file system)" }]
 * ```
 */
export function codexTranscriptDenials(text: string): PermissionDenial[] {
  const calls = new Map<string, { tool: string; what: string }>();
  const denials: PermissionDenial[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let record: Record<string, unknown>;
    try {
      record = obj(JSON.parse(line));
    } catch {
      continue; // a line cut by the size cap, or noise
    }
    if (record.type !== "response_item") continue;
    const item = obj(record.payload);
    const callId = typeof item.call_id === "string" ? item.call_id : null;
    if (callId === null) continue;
    if (item.type === "function_call" || item.type === "custom_tool_call") {
      const tool = typeof item.name === "string" ? item.name : "?";
      let what = "";
      if (item.type === "function_call" && typeof item.arguments === "string") {
        try {
          const args = obj(JSON.parse(item.arguments));
          what = typeof args.cmd === "string"
            ? args.cmd
            : typeof args.command === "string"
            ? args.command
            : "";
        } catch { /* arguments that are not JSON: no summary */ }
      } else if (typeof item.input === "string") {
        // apply_patch: name the files the patch touches.
        what = [...item.input.matchAll(/^\*\*\* (?:Add|Update|Delete) File: (.+)$/gm)]
          .map((m) => m[1]).join(", ");
      }
      calls.set(callId, { tool, what });
    } else if (item.type === "function_call_output" || item.type === "custom_tool_call_output") {
      const why = refusal(outputText(item.output));
      if (why === null) continue;
      const call = calls.get(callId) ?? { tool: "?", what: "" };
      denials.push({ tool: call.tool, detail: cut(call.what ? `${call.what}: ${why}` : why) });
    }
  }
  return denials;
}

async function sortedDirs(path: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) if (e.isDirectory) names.push(e.name);
  } catch {
    return [];
  }
  return names.sort().reverse();
}

/** Finds `rollout-*-<threadId>.jsonl` in the newest day directories of `codexHome/sessions`. */
export async function findCodexTranscript(
  codexHome: string,
  threadId: string,
): Promise<string | null> {
  if (!/^[A-Za-z0-9-]{8,64}$/.test(threadId)) return null;
  const suffix = `-${threadId}.jsonl`;
  const sessions = `${codexHome}/sessions`;
  let searched = 0;
  for (const year of await sortedDirs(sessions)) {
    for (const month of await sortedDirs(`${sessions}/${year}`)) {
      for (const day of await sortedDirs(`${sessions}/${year}/${month}`)) {
        if (searched++ >= DAY_DIRS_SEARCHED) return null;
        const dir = `${sessions}/${year}/${month}/${day}`;
        try {
          for await (const e of Deno.readDir(dir)) {
            if (e.isFile && e.name.startsWith("rollout-") && e.name.endsWith(suffix)) {
              return `${dir}/${e.name}`;
            }
          }
        } catch { /* unreadable: try the next day */ }
      }
    }
  }
  return null;
}

/**
 * The denials recorded in the transcript of thread `threadId` under `codexHome`, or null when
 * the transcript cannot be found or read (the caller then keeps what the JSONL showed).
 */
export async function readCodexTranscriptDenials(
  codexHome: string,
  threadId: string,
): Promise<PermissionDenial[] | null> {
  const path = await findCodexTranscript(codexHome, threadId);
  if (path === null) return null;
  let file: Deno.FsFile | null = null;
  try {
    file = await Deno.open(path, { read: true });
    const size = (await file.stat()).size;
    const buf = new Uint8Array(Math.min(size, MAX_TRANSCRIPT_BYTES));
    let filled = 0;
    while (filled < buf.length) {
      const n = await file.read(buf.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return codexTranscriptDenials(new TextDecoder().decode(buf.subarray(0, filled)));
  } catch {
    return null;
  } finally {
    file?.close();
  }
}
