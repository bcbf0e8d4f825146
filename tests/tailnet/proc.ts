/**
 * @module
 * Process helpers for the real-tailnet harness, on top of `tests/support/proc.ts` (which runs
 * a command to completion, in a namespace or not): start a long-lived one inside a namespace
 * with its output appended to a log file, read a log's tail, and poll for a condition at the
 * tailnet's pace.
 *
 * @example
 * ```ts
 * import { spawnLogged, waitUntil } from "./proc.ts";
 * const p = spawnLogged("cmtn-1a2b3c4d-hub", ["/bin/sleep", "60"], "/tmp/sleep.log", {});
 * await waitUntil("nothing", () => true);
 * await p.stop();
 * ```
 */
import { ipBinary, waitFor } from "../support/proc.ts";

/** Where `ip` lives (iproute2). */
const IP = ipBinary() ?? "/usr/sbin/ip";

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

/** {@link waitFor} at the tailnet's pace: 30 s at the most, every 250 ms. */
export function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  intervalMs = 250,
): Promise<T> {
  return waitFor(what, probe, timeoutMs, intervalMs);
}
