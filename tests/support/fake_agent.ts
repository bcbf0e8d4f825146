/**
 * @module
 * A scriptable fake runner process for tests (not the product's demo runner). Run as a program
 * it executes a JSON script of steps given as its first argument (or in `FAKE_AGENT_SCRIPT`);
 * imported, it offers {@link fakeAgentInvocation} to build an {@link Invocation} for it.
 *
 * Steps (executed in order):
 * - `{"claude": "init" | "assistant" | "result", "text"?: string}` — a claude stream-json line
 * - `{"line": string | object}` — one stdout line (objects are JSON-encoded)
 * - `{"stderr": string}` — one stderr line
 * - `{"sleep_ms": n}` — sleep
 * - `{"hang": true}` — sleep forever (for timeouts and cancels)
 * - `{"write_file": {"path": string, "content": string}}`
 * - `{"pid_file": string}` — write this process's pid
 * - `{"spawn_setsid": {"seconds": n, "pid_file"?: string, "ignore_term"?: bool}}` — start a
 *   `setsid sleep n` child in its own session (like Claude's Bash tool processes) and leave it
 * - `{"spawn_group_child": {"seconds": n, "pid_file"?: string}}` — a plain child in our group
 * - `{"spawn_unmarked": {"seconds": n, "pid_file": string}}` — a `setsid` child with a cleared
 *   environment (no run marker) that keeps our stdout open: an escapee the tree kill cannot see
 * - `{"output_mb": n, "line_bytes"?: n}` — print n MiB of stdout in lines
 * - `{"stderr_kb": n}` — print n KiB of stderr
 * - `{"ignore_signals": ["SIGINT", "SIGTERM"]}` — install no-op handlers
 * - `{"read_stdin": true}` — read stdin to EOF, print `{"type":"stdin","bytes":n,"text":…}`
 * - `{"print_env": true}` — print `{"type":"env","env":{…}}`
 * - `{"no_newline": string}` — print text without a trailing newline
 * - `{"raise": "SIGTERM"}` — kill itself with a signal
 * - `{"exit": code}` — exit (default at the end: 0)
 *
 * @example
 * ```ts
 * import { fakeAgentInvocation } from "../support/fake_agent.ts";
 * const inv = fakeAgentInvocation([{ claude: "init" }, { sleep_ms: 50 }, { exit: 3 }], { cwd: "/tmp" });
 * ```
 */
import type { Invocation } from "../../src/runner/types.ts";

/** One step of a fake agent script. */
export type FakeStep =
  | { claude: "init" | "assistant" | "result"; text?: string }
  | { line: string | Record<string, unknown> }
  | { stderr: string }
  | { sleep_ms: number }
  | { hang: true }
  | { write_file: { path: string; content: string } }
  | { pid_file: string }
  | { spawn_setsid: { seconds: number; pid_file?: string; ignore_term?: boolean } }
  | { spawn_group_child: { seconds: number; pid_file?: string } }
  | { spawn_unmarked: { seconds: number; pid_file: string } }
  | { output_mb: number; line_bytes?: number }
  | { stderr_kb: number }
  | { ignore_signals: string[] }
  | { read_stdin: true }
  | { print_env: true }
  | { no_newline: string }
  | { raise: string }
  | { exit: number };

/** The absolute path of this file (the program to run). */
export const FAKE_AGENT_PATH = new URL(import.meta.url).pathname;

/**
 * The runner manifest (TOML) of a runner `fake` that runs this program with the prompt as its
 * script (as `~/.cmesh/runners/fake.toml` of a daemon under test), with an empty profile for
 * each name in `profiles`.
 */
export function fakeAgentManifestToml(profiles: readonly string[]): string {
  const q = JSON.stringify;
  return `name = "fake"
description = "tests/support/fake_agent.ts: the prompt is its JSON script"
binary = ${q(Deno.execPath())}
base_args = ["run", "-A", "--no-config", "--no-lock", "--quiet", ${q(FAKE_AGENT_PATH)}]
prompt = { via = "arg", end_of_options = false }
output = "claude-stream-json"
cancel = { signals = ["SIGTERM", "SIGKILL"], grace_ms = 500 }
${profiles.map((p) => `\n[profiles.${p}]\nargs = []\n`).join("")}`;
}

/**
 * Builds an invocation that runs the fake agent with `deno run -A` and the given script. The
 * environment holds only what Deno needs to start (its cache dir), plus `extraEnv`.
 */
export function fakeAgentInvocation(
  script: FakeStep[],
  opts: { cwd: string; stdin?: string | null; extraEnv?: Record<string, string> },
): Invocation {
  const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  const denoDir = Deno.env.get("DENO_DIR");
  const home = Deno.env.get("HOME");
  if (denoDir) env.DENO_DIR = denoDir;
  if (home) env.HOME = home;
  return {
    argv: [
      Deno.execPath(),
      "run",
      "-A",
      "--no-config",
      "--no-lock",
      "--quiet",
      FAKE_AGENT_PATH,
      JSON.stringify(script),
    ],
    env: { ...env, ...opts.extraEnv },
    cwd: opts.cwd,
    stdin: opts.stdin ?? null,
  };
}

const encoder = new TextEncoder();
const SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin";
const SETSID = "/usr/bin/setsid";
const BASH = "/bin/bash";

function writeAll(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}

function out(line: string): void {
  writeAll(Deno.stdout, encoder.encode(line + "\n"));
}

function claudeLine(kind: "init" | "assistant" | "result", text = "done"): string {
  const session_id = "00000000-0000-4000-8000-000000000000";
  if (kind === "init") {
    return JSON.stringify({
      type: "system",
      subtype: "init",
      cwd: Deno.cwd(),
      session_id,
      tools: ["Read"],
      model: "fake",
    });
  }
  if (kind === "assistant") {
    return JSON.stringify({
      type: "assistant",
      message: { role: "assistant", content: [{ type: "text", text }] },
      session_id,
    });
  }
  return JSON.stringify({
    type: "result",
    subtype: "success",
    is_error: false,
    result: text,
    session_id,
    total_cost_usd: 0,
    usage: { input_tokens: 1, output_tokens: 1 },
    permission_denials: [],
  });
}

async function runScript(steps: FakeStep[]): Promise<never> {
  for (const step of steps) {
    if ("claude" in step) out(claudeLine(step.claude, step.text));
    else if ("line" in step) {
      out(typeof step.line === "string" ? step.line : JSON.stringify(step.line));
    } else if ("stderr" in step) writeAll(Deno.stderr, encoder.encode(step.stderr + "\n"));
    else if ("sleep_ms" in step) await new Promise((r) => setTimeout(r, step.sleep_ms));
    else if ("hang" in step) await new Promise(() => setInterval(() => {}, 1 << 30));
    else if ("write_file" in step) {
      Deno.writeTextFileSync(step.write_file.path, step.write_file.content);
    } else if ("pid_file" in step) Deno.writeTextFileSync(step.pid_file, String(Deno.pid));
    else if ("spawn_setsid" in step) {
      const { seconds, pid_file, ignore_term } = step.spawn_setsid;
      // `exec` keeps one process; the trap makes it survive SIGTERM/SIGINT when asked to.
      const script = ignore_term
        ? `trap '' TERM INT; echo $$ > "$1"; sleep ${seconds}; sleep ${seconds}`
        : `echo $$ > "$1"; exec sleep ${seconds}`;
      await leaveRunning(script, pid_file, { setsid: true });
    } else if ("spawn_group_child" in step) {
      const { seconds, pid_file } = step.spawn_group_child;
      await leaveRunning(`echo $$ > "$1"; exec sleep ${seconds}`, pid_file, { setsid: false });
    } else if ("spawn_unmarked" in step) {
      const { seconds, pid_file } = step.spawn_unmarked;
      await leaveRunning(`echo $$ > "$1"; exec sleep ${seconds}`, pid_file, {
        setsid: true,
        unmarked: true,
      });
    } else if ("output_mb" in step) {
      const lineBytes = Math.max(2, step.line_bytes ?? 1024);
      const line = "x".repeat(lineBytes - 1) + "\n";
      const block = encoder.encode(line.repeat(Math.max(1, Math.floor((1 << 20) / lineBytes))));
      let remaining = step.output_mb * (1 << 20);
      while (remaining > 0) {
        if (remaining >= block.length) {
          writeAll(Deno.stdout, block);
          remaining -= block.length;
        } else {
          // The last piece still ends with a newline, so the total is exact and lines stay whole.
          const part = block.slice(0, remaining);
          part[part.length - 1] = 10;
          writeAll(Deno.stdout, part);
          remaining = 0;
        }
      }
    } else if ("stderr_kb" in step) {
      const line = encoder.encode("e".repeat(1023) + "\n");
      for (let i = 0; i < step.stderr_kb; i++) writeAll(Deno.stderr, line);
    } else if ("ignore_signals" in step) {
      for (const s of step.ignore_signals) Deno.addSignalListener(s as Deno.Signal, () => {});
    } else if ("read_stdin" in step) {
      const bytes = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
      const text = new TextDecoder().decode(bytes);
      out(JSON.stringify({ type: "stdin", bytes: bytes.length, text }));
    } else if ("print_env" in step) out(JSON.stringify({ type: "env", env: Deno.env.toObject() }));
    else if ("no_newline" in step) writeAll(Deno.stdout, encoder.encode(step.no_newline));
    else if ("raise" in step) {
      Deno.kill(Deno.pid, step.raise as Deno.Signal);
      await new Promise((r) => setTimeout(r, 5000));
    } else if ("exit" in step) Deno.exit(step.exit);
  }
  Deno.exit(0);
}

/**
 * Starts `bash -c <script> fake <pidFile>` (under `setsid` when asked: a session of its own)
 * and leaves it running; waits until it wrote its pid file. `unmarked`: with a cleared
 * environment (no run marker), keeping our stdout and stderr open.
 */
async function leaveRunning(
  script: string,
  pidFile: string | undefined,
  o: { setsid: boolean; unmarked?: boolean },
): Promise<void> {
  const argv = [...(o.setsid ? [SETSID] : []), BASH, "-c", script, "fake", pidFile ?? "/dev/null"];
  const output = o.unmarked ? "inherit" : "null";
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: { PATH: SYSTEM_PATH },
    clearEnv: o.unmarked,
    stdin: "null",
    stdout: output,
    stderr: output,
  }).spawn();
  child.unref();
  if (pidFile) await waitForFile(pidFile);
}

async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if (Deno.readTextFileSync(path).trim() !== "") return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 10));
  }
}

if (import.meta.main) {
  const source = Deno.args[0] ?? Deno.env.get("FAKE_AGENT_SCRIPT") ?? "[]";
  await runScript(JSON.parse(source) as FakeStep[]);
}
