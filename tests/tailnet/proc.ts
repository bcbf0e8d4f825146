/**
 * @module
 * Process helpers for the real-tailnet harness: run a command to completion (optionally inside
 * a network namespace), start a long-lived one inside a namespace with its output appended to a
 * log file, and poll for a condition.
 *
 * @example
 * ```ts
 * import { exec, waitUntil } from "./proc.ts";
 * const r = await exec(["/usr/sbin/ip", "netns", "list"]);
 * await waitUntil("nothing", () => true);
 * ```
 */

/** Output of a finished command. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** Where `ip` lives on Debian (iproute2). */
export const IP = "/usr/sbin/ip";

/**
 * Runs `argv` to completion; never throws for a non-zero exit. `ns` runs it inside that
 * namespace. `timeoutMs` SIGKILLs it when it overruns (reported as code 124).
 */
export async function exec(
  argv: string[],
  opts: {
    ns?: string;
    env?: Record<string, string>;
    clearEnv?: boolean;
    cwd?: string;
    stdin?: string;
    timeoutMs?: number;
  } = {},
): Promise<ExecResult> {
  const full = opts.ns ? [IP, "netns", "exec", opts.ns, ...argv] : argv;
  const child = new Deno.Command(full[0], {
    args: full.slice(1),
    env: opts.env,
    clearEnv: opts.clearEnv,
    cwd: opts.cwd,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  let timedOut = false;
  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, opts.timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  return {
    code: timedOut ? 124 : out.code,
    stdout: decode(out.stdout),
    stderr: decode(out.stderr) + (timedOut ? `\n(killed after ${opts.timeoutMs} ms)` : ""),
  };
}

/** Runs `argv` and returns stdout; throws with stderr when it exits non-zero. */
export async function mustExec(
  argv: string[],
  opts: Parameters<typeof exec>[1] = {},
): Promise<string> {
  const r = await exec(argv, opts);
  if (r.code !== 0) {
    throw new Error(`${argv.join(" ")} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout}`);
  }
  return r.stdout;
}

/** A long-lived process started by {@link spawnLogged}. */
export interface LoggedProcess {
  /** The process itself (`ip netns exec` and `sh -c exec` both exec, so this is the program). */
  child: Deno.ChildProcess;
  pid: number;
  log: string;
  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves with the exit status. */
  stop(signal?: Deno.Signal, graceMs?: number): Promise<Deno.CommandStatus>;
}

/**
 * Starts `argv` inside namespace `ns` with stdout+stderr appended to `log`. The environment is
 * exactly `env` plus PATH (nothing of the test runner's environment leaks in).
 */
export function spawnLogged(
  ns: string,
  argv: string[],
  log: string,
  env: Record<string, string>,
): LoggedProcess {
  const child = new Deno.Command(IP, {
    args: ["netns", "exec", ns, "/bin/sh", "-c", 'exec "$@" >>"$CMTN_LOG" 2>&1', "sh", ...argv],
    clearEnv: true,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", ...env, CMTN_LOG: log },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let status: Deno.CommandStatus | null = null;
  const done = child.status.then((s) => (status = s));
  return {
    child,
    pid: child.pid,
    log,
    async stop(signal: Deno.Signal = "SIGTERM", graceMs = 5000) {
      if (status) return status;
      try {
        child.kill(signal);
      } catch { /* gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, graceMs);
      const s = await done;
      clearTimeout(timer);
      return s;
    },
  };
}

/** The last `lines` lines of a text file ("" when it cannot be read). */
export async function tail(path: string, lines = 40): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/**
 * Polls `probe` until it returns something other than `undefined`; throws after `timeoutMs`
 * with the last error or value seen.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = undefined;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
