/**
 * @module
 * Processes of the real-MCP-client tests: a fake model as its own program (so it can run inside
 * a network namespace; its request log is a JSON-lines file), a command run to completion under a
 * hard timeout, and the deno cache.
 *
 * @example
 * ```ts
 * import { runCommand } from "./_processes.ts";
 * const r = await runCommand(["git", "--version"], { cwd: "/", env: { PATH: "/usr/bin" }, timeoutMs: 5000 });
 * ```
 */
import { REPO_ROOT } from "../support/daemon.ts";
import { type CommandOutput, run } from "../support/proc.ts";
import type { LoggedRequest } from "../support/fake_model/server.ts";

const q = JSON.stringify;

/** The deno cache for `cmesh mcp`, the daemons and the fake models (their HOME is emptied). */
export const DENO_DIR = Deno.env.get("DENO_DIR") ?? (await denoDirFromInfo());

async function denoDirFromInfo(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  return (JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir: string }).denoDir;
}

/** A fake model running as its own process. */
export interface ModelProcess {
  url: string;
  /** Requests logged so far (read from its log file). */
  requests<T = LoggedRequest>(): Promise<T[]>;
  /** What it wrote to stderr so far. */
  stderr(): string;
  close(): Promise<void>;
}

/** Reads the first line of `stream`, then keeps draining it in the background. */
async function firstLine(stream: ReadableStream<Uint8Array>, timeoutMs: number): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const deadline = Date.now() + timeoutMs;
  while (!buf.includes("\n")) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const chunk = await Promise.race([
      reader.read(),
      new Promise<null>((r) => timer = setTimeout(() => r(null), deadline - Date.now())),
    ]);
    clearTimeout(timer);
    if (chunk === null) throw new Error(`no output line within ${timeoutMs} ms`);
    if (chunk.done) throw new Error(`the process ended before printing a line: ${q(buf)}`);
    buf += chunk.value;
  }
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return buf.slice(0, buf.indexOf("\n"));
}

/**
 * Starts a fake model program (`fake_model/main.ts` or `fake_model_front.ts`) behind `wrap`
 * (e.g. `ip netns exec <ns>`, or nothing), logging to `logFile`, and waits for its
 * `{"listening": url}` line.
 */
export async function startModelProcess(
  wrap: string[],
  module: string,
  args: string[],
  logFile: string,
): Promise<ModelProcess> {
  const argv = [...wrap, Deno.execPath(), "run", "-A", "--quiet", module, ...args];
  const child = new Deno.Command(argv[0], {
    args: [...argv.slice(1), "--log", logFile],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", DENO_DIR },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let err = "";
  child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (s) => void (err += s) }),
  ).catch(() => {});
  let url: string;
  try {
    url = (JSON.parse(await firstLine(child.stdout, 30_000)) as { listening: string }).listening;
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    throw new Error(`fake model ${module} did not start: ${(e as Error).message}\n${err}`);
  }
  let closed = false;
  return {
    url,
    async requests<T>() {
      const text = await Deno.readTextFile(logFile).catch(() => "");
      return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as T);
    },
    stderr: () => err,
    async close() {
      if (closed) return;
      closed = true;
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
    },
  };
}

/** Output of one command run (a hard timeout's kill is code 124, `timedOut`). */
export interface ClientRun extends CommandOutput {
  wallMs: number;
}

/**
 * Runs `argv` to completion with exactly `env` (nothing inherited) and stdin `/dev/null`
 * (Claude waits 3 s on an open stdin, codex until EOF); SIGKILL after `timeoutMs`.
 */
export async function runCommand(
  argv: string[],
  opts: { cwd: string; env: Record<string, string>; timeoutMs: number },
): Promise<ClientRun> {
  const started = performance.now();
  const r = await run(argv, { ...opts, clearEnv: true });
  return { ...r, wallMs: Math.round(performance.now() - started) };
}
