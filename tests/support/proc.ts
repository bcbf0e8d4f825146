/**
 * @module
 * Processes for tests: run a command to completion (optionally inside a network namespace,
 * under a hard timeout), poll for a condition, find a program on PATH, and process facts from
 * `ps` (Deno needs `--allow-all` to read `/proc/<pid>/*`, so they come from procps).
 *
 * @example
 * ```ts
 * import { run, waitFor } from "./proc.ts";
 * const r = await run(["/usr/bin/git", "--version"], { timeoutMs: 5000 });
 * await waitFor("nothing", () => true);
 * ```
 */
import { join } from "node:path";

/** Output of a finished command. */
export interface CommandOutput {
  /** The exit code; 124 when {@link RunOptions.timeoutMs} killed it (as `timeout(1)` says). */
  code: number;
  stdout: string;
  /** Its stderr; after a timeout kill, followed by a line saying so. */
  stderr: string;
  /** True when the hard timeout killed it. */
  timedOut: boolean;
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Written to its stdin (otherwise stdin is `/dev/null`). */
  stdin?: string;
  env?: Record<string, string>;
  /** Start from an empty environment: exactly `env`. */
  clearEnv?: boolean;
  cwd?: string;
  /** Run it inside this network namespace (`ip netns exec`). */
  ns?: string;
  /** SIGKILL it when it runs longer. */
  timeoutMs?: number;
}

const IP_CANDIDATES = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"];

/** Absolute path of the `ip` binary, or null when it is not installed. */
export function ipBinary(): string | null {
  for (const p of IP_CANDIDATES) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* next */ }
  }
  return null;
}

/** Where {@link ipBinary} looks. */
export const IP_LOOKED_IN: readonly string[] = IP_CANDIDATES;

/** The `argv` prefix that runs a command inside network namespace `ns`. */
export function nsWrap(ns: string): string[] {
  return [ipBinary()!, "netns", "exec", ns];
}

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** Runs `argv` to completion; never throws for a non-zero exit. */
export async function run(argv: string[], opts: RunOptions = {}): Promise<CommandOutput> {
  const full = opts.ns ? [...nsWrap(opts.ns), ...argv] : argv;
  const child = new Deno.Command(full[0], {
    args: full.slice(1),
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: opts.env,
    clearEnv: opts.clearEnv,
    cwd: opts.cwd,
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
    timedOut,
  };
}

/** Runs `argv` and returns its stdout; throws with its stderr when it exits non-zero. */
export async function mustRun(argv: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) {
    throw new Error(`${argv.join(" ")} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout}`);
  }
  return r.stdout;
}

/**
 * Polls `probe` every `intervalMs` until it returns something other than `undefined`; throws
 * after `timeoutMs` with the last error seen.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
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

/** Absolute path of `name` in a directory of PATH, or null. */
export function findOnPath(name: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const p = join(dir, name);
      if (Deno.statSync(p).isFile) return p;
    } catch { /* next */ }
  }
  return null;
}

const PS = "/usr/bin/ps";

/** One `ps` row: pid, state letters, session id, and the command line followed by its env. */
export interface PsRow {
  pid: number;
  stat: string;
  sid: number;
  argsAndEnv: string;
}

/** Every process (or just `pid`), with its environment (`ps e`; root sees everyone's). */
export async function psRows(pid?: number): Promise<PsRow[]> {
  const sel = pid === undefined ? ["-e"] : ["-p", String(pid)];
  const r = await run([PS, ...sel, "-ww", "-o", "pid=,stat=,sid=,args=", "e"]);
  if (r.code !== 0 && r.stdout.trim() === "") return []; // -p of a gone pid exits 1
  return r.stdout.split("\n").filter((l) => l.trim()).map((l) => {
    const m = /^\s*(\d+)\s+(\S+)\s+(\d+)\s?(.*)$/.exec(l);
    if (!m) throw new Error(`unexpected ps line: ${l}`);
    return { pid: Number(m[1]), stat: m[2], sid: Number(m[3]), argsAndEnv: m[4] };
  });
}

/** True when `pid` no longer runs (gone, or a zombie waiting to be reaped). */
export async function processGone(pid: number): Promise<boolean> {
  const [row] = await psRows(pid);
  return row === undefined || row.stat.startsWith("Z") || row.stat.startsWith("X");
}

/** Live PIDs whose environment holds `NAME=value` as a whole word. */
export async function pidsWithEnv(name: string, value: string): Promise<number[]> {
  const word = new RegExp(`(^|\\s)${name}=${value.replace(/[^A-Za-z0-9_-]/g, "\\$&")}(\\s|$)`);
  return (await psRows())
    .filter((r) => !r.stat.startsWith("Z") && word.test(r.argsAndEnv))
    .map((r) => r.pid);
}

/** The value of `NAME=...` in `pid`'s environment (as `ps e` shows it), or undefined. */
export async function envValueOf(pid: number, name: string): Promise<string | undefined> {
  const [row] = await psRows(pid);
  return row ? new RegExp(`(?:^|\\s)${name}=(\\S+)`).exec(row.argsAndEnv)?.[1] : undefined;
}
