/**
 * @module
 * Independent process checks of the runner tests (`process_tree_test.ts`, `supervisor_test.ts`):
 * their own synchronous `ps` calls, not the code under test, and a test-side SIGKILL of what a
 * test left behind.
 *
 * @example
 * ```ts
 * import { isAlive, liveWithMarker, reap } from "./_ps.ts";
 * if (liveWithMarker(token).length > 0) reap(token);
 * isAlive(Deno.pid); // true
 * ```
 */
import { resolveProcessTools, RUN_TOKEN_ENV } from "../../src/runner/process_list.ts";

/** The `kill` and `ps` binaries the runner uses on this machine. */
export const { killBin, psBin } = resolveProcessTools();

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

function ps(...args: string[]): string {
  return decode(new Deno.Command(psBin, { args }).outputSync().stdout);
}

/** Live (non-zombie) processes whose ps line (`pid stat args env`) mentions the run token. */
export function liveWithMarker(token: string): string[] {
  return ps("-e", "-ww", "-o", "pid=,stat=,args=", "e").split("\n")
    .filter((l) => l.includes(`${RUN_TOKEN_ENV}=${token}`) && !/^\s*\d+\s+Z/.test(l));
}

/** The pids of {@link liveWithMarker}. */
function markedPids(token: string): number[] {
  return liveWithMarker(token).map((l) => Number(l.trim().split(/\s+/)[0]));
}

/** True when `pid` runs and is no zombie. */
export function isAlive(pid: number): boolean {
  const stat = ps("-o", "stat=", "-p", String(pid)).trim();
  return stat !== "" && !stat.startsWith("Z");
}

/** Every live (non-zombie) pid on the machine. */
export function livePids(): Set<number> {
  const pids = new Set<number>();
  for (const line of ps("-e", "-o", "pid=,stat=").split("\n")) {
    const [pid, stat] = line.trim().split(/\s+/);
    if (pid && !stat?.startsWith("Z")) pids.add(Number(pid));
  }
  return pids;
}

/** The session id of `pid`. */
export function sessionOf(pid: number): number {
  return Number(ps("-o", "sid=", "-p", String(pid)).trim());
}

/** Test-side cleanup, independent of the code under test: SIGKILL `pids` and every marked one. */
export function reap(token?: string, pids: number[] = []): void {
  for (const pid of [...pids, ...(token ? markedPids(token) : [])]) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}
