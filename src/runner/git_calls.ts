/**
 * @module
 * Starting git for the worker's evidence: one hardened call, a batch of calls in one process start
 * (one sandbox start), and the prefix that takes a snapshot in the run's own sandbox start. Every
 * call gets a scrubbed environment (the caller's base env minus every `GIT_*` variable, plus
 * `GIT_CONFIG_NOSYSTEM=1`, `GIT_CONFIG_GLOBAL=/dev/null`, `GIT_OPTIONAL_LOCKS=0`,
 * `GIT_TERMINAL_PROMPT=0`, no pager), `core.hooksPath=/dev/null`, fsmonitor off,
 * `core.quotepath=off`, a timeout and an output cap. git_porcelain.ts reads what they print.
 *
 * @example
 * ```ts
 * import { gitCall } from "./git_calls.ts";
 * const r = await gitCall("/srv/app", "/usr/bin/git", { PATH: "/usr/bin" }, ["rev-parse", "HEAD"]);
 * if (r.ok) console.log(new TextDecoder().decode(r.stdout));
 * ```
 */
import { runBounded } from "../util/bounded_command.ts";
import { endMarkBytes, findEndMark } from "./preamble.ts";
import { SHELL_NAME, shellWord } from "../util/shell_word.ts";
import type { WarmStart } from "./sandbox/warm.ts";

/** Limits for one git helper call. */
const GIT_TIMEOUT_MS = 30_000;
const GIT_MAX_BYTES = 8 * 1024 * 1024;

/**
 * The git binary, and how to wrap its argv (in the run's sandbox), when it must be, with what
 * the wrapped argv reads on its stdin (the sandbox's seccomp program, see `RunSandbox.gitStdin`).
 */
export type GitRunner = string | {
  gitBin: string;
  wrap?: (argv: string[]) => string[];
  stdin?: Uint8Array;
  /**
   * A sandbox started ahead for the next call (`sandbox/warm.ts`), or null: the call runs its
   * argv (as `wrap` would wrap it) there, or starts cold when it cannot.
   */
  warm?: () => WarmStart | null;
};

/**
 * The call's process when `runner` has a warm sandbox that took `inner` (the argv inside the
 * sandbox): already running. `done` removes its run dir in the background, off the run's path
 * (never throws; a stop before it ends leaves the dir to the sweep at the next start). Null:
 * start cold.
 */
async function warmGit(
  runner: GitRunner,
  inner: string[],
  env: Record<string, string>,
): Promise<{ child: Deno.ChildProcess; done(): void } | null> {
  const start = typeof runner === "string" ? null : runner.warm?.() ?? null;
  if (start === null) return null;
  if (!(await start.launch(inner, env)).ok) {
    void start.discard(); // in the background: it may wait for its start to complete
    return null;
  }
  // git reads nothing: its stdin ends now (a cold call's is /dev/null).
  await start.child.stdin.close().catch(() => {});
  return {
    child: start.child,
    done: () => {
      start.discard();
    },
  };
}

/** One git call's answer; `truncated` when the output cap cut it (what was read is kept). */
export type GitCall = { ok: true; stdout: Uint8Array; truncated?: true } | {
  ok: false;
  code: number | null;
  reason: string;
};

export function gitEnv(base: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (!k.startsWith("GIT_")) env[k] = v;
  return {
    ...env,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_OPTIONAL_LOCKS: "0",
    GIT_TERMINAL_PROMPT: "0",
    GIT_PAGER: "cat",
    PAGER: "cat",
    LC_ALL: "C",
  };
}

/** Config every git call overrides (the repository's own config may be hostile). */
export const GIT_HARDENING: readonly string[] = [
  "--no-pager",
  "-c",
  "core.hooksPath=/dev/null",
  "-c",
  "core.fsmonitor=false",
  "-c",
  "core.pager=cat",
  "-c",
  "core.quotepath=off",
  "-c",
  "color.ui=false",
];

export async function gitCall(
  cwd: string,
  runner: GitRunner,
  env: Record<string, string>,
  args: string[],
): Promise<GitCall> {
  const { gitBin, wrap, stdin } = typeof runner === "string"
    ? { gitBin: runner, wrap: undefined, stdin: undefined }
    : runner;
  const argv = [gitBin, ...GIT_HARDENING, ...args];
  const [bin, ...fullArgs] = wrap ? wrap(argv) : argv;
  const warm = wrap ? await warmGit(runner, argv, gitEnv(env)) : null;
  try {
    const r = await runBounded(bin, {
      args: fullArgs,
      ...(wrap && stdin ? { stdin } : {}),
      cwd,
      env: gitEnv(env),
      maxStdoutBytes: GIT_MAX_BYTES,
      timeoutMs: GIT_TIMEOUT_MS,
      ...(warm ? { running: warm.child } : {}),
    }).finally(() => warm?.done());
    if (r.timedOut) return { ok: false, code: null, reason: `git ${args[0]} timed out` };
    if (r.stdoutTruncated) return { ok: true, stdout: r.stdout, truncated: true };
    if (r.code !== 0) {
      const msg = r.stderr.trim().split("\n")[0] ?? "";
      return { ok: false, code: r.code, reason: `git ${args[0]} exited ${r.code}: ${msg}` };
    }
    return { ok: true, stdout: r.stdout };
  } catch (e) {
    return { ok: false, code: null, reason: `cannot run git: ${(e as Error).message}` };
  }
}

/**
 * Runs several read-only git calls. Inside a sandbox each process start is a sandbox start
 * (new namespaces, about ten ms), so there one `/bin/sh` runs them in turn and ends each one's
 * output with `\0<boundary> <exit code>\0` on stdout and `<boundary> <exit code>` on its own line
 * on stderr. The boundary is random per batch and chosen after the run ended, so a file name in
 * the output cannot fake it. Unsandboxed (and on Windows, which has no sandbox and no `sh`) the
 * calls run side by side.
 */
export async function gitBatch(
  cwd: string,
  runner: GitRunner,
  env: Record<string, string>,
  calls: string[][],
): Promise<GitCall[]> {
  if (typeof runner === "string" || !runner.wrap || calls.length < 2) {
    return await Promise.all(calls.map((args) => gitCall(cwd, runner, env, args)));
  }
  const boundary = newBoundary();
  const script = `B=$1\n${callsScript(runner.gitBin, calls, [], ">&2")}`;
  const inner = ["/bin/sh", "-c", script, "sh", boundary];
  const [bin, ...args] = runner.wrap(inner);
  const warm = await warmGit(runner, inner, gitEnv(env));
  let r;
  try {
    r = await runBounded(bin, {
      args,
      ...(runner.stdin ? { stdin: runner.stdin } : {}),
      cwd,
      env: gitEnv(env),
      maxStdoutBytes: GIT_MAX_BYTES * calls.length,
      maxStderrBytes: 4096 * calls.length,
      timeoutMs: GIT_TIMEOUT_MS,
      ...(warm ? { running: warm.child } : {}),
    }).finally(() => warm?.done());
  } catch (e) {
    const reason = `cannot run git: ${(e as Error).message}`;
    return calls.map(() => ({ ok: false, code: null, reason }));
  }
  return splitBatch(calls, boundary, r);
}

/** Git calls as shell lines, each output ended by the end mark of `$B` (see {@link gitBatch}). */
function callsScript(
  gitBin: string,
  calls: string[][],
  envPrefix: string[],
  stderr: ">&2" | "2>/dev/null",
): string {
  const errMark = stderr === ">&2" ? `; printf '%s %s\\n' "$B" "$r" >&2` : "";
  return calls.map((args) =>
    `${[...envPrefix, gitBin, ...GIT_HARDENING, ...args].map(shellWord).join(" ")} </dev/null` +
    `${stderr === ">&2" ? "" : " 2>/dev/null"}; r=$?; printf '\\0%s %s\\0' "$B" "$r"${errMark}`
  ).join("\n");
}

const newBoundary = () => crypto.randomUUID().replaceAll("-", "");

/**
 * Git calls made in the run's own sandbox start, just before the runner: a subshell runs them in
 * the scrubbed git environment, ends each output with the end mark and drops stderr; then the
 * shell `exec`s the runner in its place, with the runner's environment untouched. The boundary
 * lives only in the subshell's variable: the runner's argv and environment never hold it.
 *
 * With `runnerEnvNames` (every variable the sandbox starts with) the subshell unsets those and
 * exports the git ones: no process start of its own. Without them, or when a name is not a shell
 * name, each call goes through `env -i` (one more exec per call). Read the output with
 * {@link readPreamble}(`boundary`, {`marks`, `maxBytes`}) and cut it with {@link splitPreamble}.
 *
 * @example
 * ```ts
 * const pre = inRunGitCalls("/usr/bin/git", { PATH: "/usr/bin" }, [["status", "--porcelain"]], [
 *   "PATH",
 *   "ANTHROPIC_API_KEY",
 * ]);
 * const argv = [...pre.prefix, "/usr/bin/claude", "-p", "hi"]; // then wrapped in the sandbox
 * ```
 */
export function inRunGitCalls(
  gitBin: string,
  env: Record<string, string>,
  calls: string[][],
  runnerEnvNames?: readonly string[],
): { prefix: string[]; boundary: string; marks: number; maxBytes: number; calls: string[][] } {
  const boundary = newBoundary();
  const scrubbed = gitEnv(env);
  // dash exports PWD itself; env -i would not pass it either.
  const names = runnerEnvNames === undefined ? null : [...new Set([...runnerEnvNames, "PWD"])];
  const inShell = names !== null &&
    [...names, ...Object.keys(scrubbed)].every((n) => SHELL_NAME.test(n));
  const exports = Object.entries(scrubbed).map(([k, v]) => `${k}=${shellWord(v)}`);
  const setup = inShell ? [`unset ${names.join(" ")}`, `export ${exports.join(" ")}`] : [];
  const envPrefix = inShell
    ? []
    : ["/usr/bin/env", "-i", ...Object.entries(scrubbed).map(([k, v]) => `${k}=${v}`)];
  const gitLines = callsScript(gitBin, calls, envPrefix, "2>/dev/null");
  // The calls run in a subshell: nothing they set (the boundary in `B`, `r`) reaches the runner.
  const script = ["(", ...setup, "B=$1", gitLines, ")", "shift", 'exec "$@"'].join("\n");
  return {
    prefix: ["/bin/sh", "-c", script, "sh", boundary],
    boundary,
    marks: calls.length,
    maxBytes: GIT_MAX_BYTES * calls.length,
    calls,
  };
}

/**
 * Cuts a preamble of {@link inRunGitCalls} (read whole) into one {@link GitCall} per call.
 *
 * @example
 * ```ts
 * const pre = inRunGitCalls("/usr/bin/git", {}, [["rev-parse", "HEAD"]]);
 * const body = new TextEncoder().encode(`abc\n\0${pre.boundary} 0\0`);
 * splitPreamble(pre.calls, pre.boundary, body); // [{ ok: true, stdout: "abc\n" (bytes) }]
 * ```
 */
export function splitPreamble(calls: string[][], boundary: string, body: Uint8Array): GitCall[] {
  return splitBatch(calls, boundary, {
    stdout: body,
    stderr: "",
    code: null,
    timedOut: false,
    stdoutTruncated: false,
  });
}

/** Cuts a {@link gitBatch} answer into one {@link GitCall} per call. */
function splitBatch(
  calls: string[][],
  boundary: string,
  r: {
    stdout: Uint8Array;
    stderr: string;
    code: number | null;
    timedOut: boolean;
    stdoutTruncated: boolean;
  },
): GitCall[] {
  const stderrParts = r.stderr.split(new RegExp(`^${boundary} -?\\d+$`, "m"));
  const mark = endMarkBytes(boundary);
  const out: GitCall[] = [];
  let at = 0;
  for (const [i, args] of calls.entries()) {
    const found = findEndMark(r.stdout, mark, at);
    if (found !== null) {
      const code = found.code;
      const stdout = r.stdout.subarray(at, found.at);
      at = found.end;
      if (code === 0) out.push({ ok: true, stdout });
      else {
        const msg = (stderrParts[i] ?? "").trim().split("\n")[0] ?? "";
        out.push({ ok: false, code, reason: `git ${args[0]} exited ${code}: ${msg}` });
      }
      continue;
    }
    // No end mark: cut by the output cap (the call's output so far counts, as for one call),
    // stopped by the timeout, or the sandbox itself failed.
    if (r.stdoutTruncated && at < r.stdout.length) {
      out.push({ ok: true, stdout: r.stdout.subarray(at), truncated: true });
      at = r.stdout.length;
    } else if (r.stdoutTruncated) {
      out.push({ ok: false, code: null, reason: `git ${args[0]}: output cap reached` });
    } else if (r.timedOut) out.push({ ok: false, code: null, reason: `git ${args[0]} timed out` });
    else {
      const msg = r.stderr.trim().split("\n")[0] ?? "";
      out.push({ ok: false, code: r.code, reason: `git ${args[0]} exited ${r.code}: ${msg}` });
    }
  }
  return out;
}
