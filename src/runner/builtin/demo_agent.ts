/**
 * @module
 * The demo agent: a stand-in for a coding-agent CLI, with no model and no dependencies.
 * It reads the prompt from stdin, inspects the cwd read-only (lists files, counts lines,
 * greps one word taken from the prompt) and prints Claude Code `stream-json` events
 * (system/init, assistant tool_use, user tool_result, assistant text, result), so the
 * Claude parser reads it like the real thing. Started by the `demo` manifest as
 * `deno run --no-prompt --allow-read=<cwd> demo_agent.ts`: it cannot write, run or connect.
 *
 * Directives in the prompt, for demonstrating the unhappy paths:
 * - `[demo:sleep=N]` waits N seconds (max 3600) before answering (try cancel or a timeout);
 * - `[demo:fail]` ends like an API error (`is_error: true`, status 500, exit 1).
 *
 * @example
 * ```sh
 * echo 'Where is "TODO" used?' | deno run --no-prompt --allow-read=. src/runner/builtin/demo_agent.ts
 * ```
 */

const PACE_MS = 40;
const MAX_ENTRIES = 5000;
const MAX_DEPTH = 8;
const MAX_TEXT_FILE_BYTES = 1024 * 1024;
const MAX_MATCHES = 20;
const SKIP_DIRS = new Set([".git", "node_modules", ".hg", ".svn", "target", "dist"]);
const STOPWORDS = new Set(
  ("about also answer code count describe directory does each file files find folder from " +
    "give have here inspect into just lines list look make many most much only over please " +
    "project repo repository show some summarise summarize tell that their them there they " +
    "this what where which with word words your").split(" "),
);

interface FileInfo {
  path: string;
  bytes: number;
  lines: number | null;
  text: string | null;
}

const started = Date.now();
const sessionId = crypto.randomUUID();
const cwd = Deno.cwd();
const model = "cmesh-demo-agent";
const encoder = new TextEncoder();
let toolSeq = 0;
let inputChars = 0;

function emit(event: Record<string, unknown>): void {
  Deno.stdout.writeSync(encoder.encode(JSON.stringify(event) + "\n"));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function assistant(content: unknown[]): void {
  emit({
    type: "assistant",
    message: {
      id: `msg_demo_${toolSeq}`,
      type: "message",
      role: "assistant",
      model,
      content,
      stop_reason: null,
    },
    session_id: sessionId,
  });
}

async function tool(name: string, input: Record<string, unknown>, run: () => string) {
  const id = `toolu_demo_${++toolSeq}`;
  assistant([{ type: "tool_use", id, name, input }]);
  await sleep(PACE_MS);
  const content = run();
  inputChars += content.length;
  emit({
    type: "user",
    message: { role: "user", content: [{ tool_use_id: id, type: "tool_result", content }] },
    session_id: sessionId,
  });
  await sleep(PACE_MS);
}

function result(text: string, isError: boolean, apiStatus: number | null): void {
  emit({
    type: "result",
    subtype: "success",
    is_error: isError,
    api_error_status: apiStatus,
    duration_ms: Date.now() - started,
    duration_api_ms: 0,
    num_turns: toolSeq + 1,
    result: text,
    stop_reason: "end_turn",
    session_id: sessionId,
    total_cost_usd: 0,
    usage: {
      input_tokens: Math.ceil(inputChars / 4),
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: Math.ceil(text.length / 4),
    },
    permission_denials: [],
    terminal_reason: "completed",
  });
}

function walk(): FileInfo[] {
  const files: FileInfo[] = [];
  const queue: Array<{ dir: string; rel: string; depth: number }> = [
    { dir: cwd, rel: "", depth: 0 },
  ];
  let seen = 0;
  while (queue.length > 0 && seen < MAX_ENTRIES) {
    const { dir, rel, depth } = queue.shift()!;
    let entries: Deno.DirEntry[];
    try {
      // Code-point order, not localeCompare: the same listing on every machine.
      entries = [...Deno.readDirSync(dir)].sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0
      );
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (++seen > MAX_ENTRIES) break;
      const relPath = rel === "" ? entry.name : `${rel}/${entry.name}`;
      const full = `${dir}/${entry.name}`;
      // Symlinks are skipped: following one could leave the cwd.
      if (entry.isSymlink) continue;
      if (entry.isDirectory) {
        if (!SKIP_DIRS.has(entry.name) && depth < MAX_DEPTH) {
          queue.push({ dir: full, rel: relPath, depth: depth + 1 });
        }
      } else if (entry.isFile) files.push(readFileInfo(full, relPath));
    }
  }
  return files;
}

function readFileInfo(full: string, relPath: string): FileInfo {
  try {
    const bytes = Deno.statSync(full).size;
    if (bytes > MAX_TEXT_FILE_BYTES) return { path: relPath, bytes, lines: null, text: null };
    const data = Deno.readFileSync(full);
    if (data.subarray(0, 8192).includes(0)) {
      return { path: relPath, bytes, lines: null, text: null };
    }
    const text = new TextDecoder().decode(data);
    const newlines = text.split("\n").length - 1;
    const lines = newlines + (text.length > 0 && !text.endsWith("\n") ? 1 : 0);
    return { path: relPath, bytes, lines, text };
  } catch {
    return { path: relPath, bytes: 0, lines: null, text: null };
  }
}

/** A quoted phrase from the prompt, else its longest non-trivial word. */
function pickSearchTerm(prompt: string): string | null {
  const quoted = prompt.match(/["'`\u201c]([^"'`\u201d\n]{2,60})["'`\u201d]/);
  if (quoted) return quoted[1];
  const words = (prompt.match(/[A-Za-z_][A-Za-z0-9_.-]{3,}/g) ?? [])
    .filter((w) => !STOPWORDS.has(w.toLowerCase()));
  let best: string | null = null;
  for (const w of words) if (best === null || w.length > best.length) best = w;
  return best;
}

function grep(files: FileInfo[], term: string): string[] {
  const needle = term.toLowerCase();
  const hits: string[] = [];
  for (const f of files) {
    if (f.text === null) continue;
    const lines = f.text.split("\n");
    for (let i = 0; i < lines.length && hits.length < MAX_MATCHES; i++) {
      if (lines[i].toLowerCase().includes(needle)) {
        hits.push(`${f.path}:${i + 1}: ${lines[i].trim().slice(0, 120)}`);
      }
    }
    if (hits.length >= MAX_MATCHES) break;
  }
  return hits;
}

function summarise(files: FileInfo[], term: string | null, hits: string[]): string {
  const text = files.filter((f) => f.lines !== null);
  const totalLines = text.reduce((n, f) => n + (f.lines ?? 0), 0);
  const byExt = new Map<string, number>();
  for (const f of files) {
    const m = f.path.match(/\.([A-Za-z0-9]+)$/);
    const ext = m ? `.${m[1]}` : "(none)";
    byExt.set(ext, (byExt.get(ext) ?? 0) + 1);
  }
  const exts = [...byExt.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 5).map(([e, n]) => `${e} ${n}`).join(", ");
  const largest = [...text].sort((a, b) => (b.lines ?? 0) - (a.lines ?? 0)).slice(0, 3)
    .map((f) => `${f.path} (${f.lines} line${f.lines === 1 ? "" : "s"})`).join(", ");
  const parts = [
    `Demo agent (no model, no API key): I inspected ${cwd} read-only.`,
    `It holds ${files.length} files (${text.length} text files, ${totalLines} lines of text).`,
  ];
  if (files.length > 0) parts.push(`By extension: ${exts}.`);
  if (largest !== "") parts.push(`Largest text files: ${largest}.`);
  if (term !== null) {
    parts.push(
      hits.length === 0
        ? `"${term}" does not appear in any text file.`
        : `"${term}" appears ${hits.length}${
          hits.length >= MAX_MATCHES ? "+" : ""
        } times, first at ${hits[0].split(": ")[0]}.`,
    );
  }
  parts.push("A real runner (claude, codex) would now act on your prompt.");
  return parts.join(" ");
}

/** Runs the demo agent on stdin's prompt in the process's cwd; returns the exit code. */
export async function main(): Promise<number> {
  const prompt = (await new Response(Deno.stdin.readable).text()).trim();
  inputChars += prompt.length;
  emit({
    type: "system",
    subtype: "init",
    cwd,
    session_id: sessionId,
    tools: ["Glob", "Grep"],
    model,
    permissionMode: "dontAsk",
    apiKeySource: "none",
  });
  await sleep(PACE_MS);
  const sleepMatch = prompt.match(/\[demo:sleep=(\d+(?:\.\d+)?)\]/);
  if (sleepMatch) {
    assistant([{ type: "text", text: `Sleeping ${sleepMatch[1]} s as asked.` }]);
    await sleep(Math.min(Number(sleepMatch[1]), 3600) * 1000);
  }
  if (prompt.includes("[demo:fail]")) {
    result("API Error: 500 demo failure requested with [demo:fail]", true, 500);
    return 1;
  }
  let files: FileInfo[] = [];
  await tool("Glob", { pattern: "**/*" }, () => {
    files = walk();
    const listed = files.slice(0, 50).map((f) => f.path).join("\n");
    return files.length > 50 ? `${listed}\n… and ${files.length - 50} more` : listed;
  });
  const term = pickSearchTerm(prompt.replace(/\[demo:[^\]]*\]/g, " "));
  let hits: string[] = [];
  if (term !== null) {
    await tool("Grep", { pattern: term, "-i": true }, () => {
      hits = grep(files, term);
      return hits.length === 0 ? "No matches found" : hits.join("\n");
    });
  }
  const answer = summarise(files, term, hits);
  assistant([{ type: "text", text: answer }]);
  await sleep(PACE_MS);
  result(answer, false, null);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
