/**
 * @module
 * The processes of a run, as `ps` shows them: the run token (`CMESH_RUN_ID=<token>`) that marks
 * them, where the `kill`/`ps` binaries are and whether this OS supports tree kill, and the `ps`
 * listing with its parsing and matching (by token, by parent link). `process_tree.ts` builds the
 * kill sequence on top.
 *
 * `ps` is spawned (as an absolute path) because the runner lives in a Deno Worker with narrowed
 * permissions where neither `Deno.kill` nor `/proc` is available. Linux (procps `ps … e`) is
 * tested; macOS is wired to `ps -E` but unverified; Windows lists nothing here (see
 * `windows_tree.ts`).
 *
 * @example
 * ```ts
 * import { findProcessesByToken, newRunToken, resolveProcessTools } from "./process_list.ts";
 * const token = newRunToken();
 * const pids = await findProcessesByToken(token, resolveProcessTools().psBin);
 * ```
 */
import { runBounded } from "../util/bounded_command.ts";

/**
 * The environment variable that marks every process of a run.
 *
 * @example
 * ```ts
 * const env = { [RUN_TOKEN_ENV]: newRunToken() }; // { CMESH_RUN_ID: "r…" }
 * ```
 */
export const RUN_TOKEN_ENV = "CMESH_RUN_ID";

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * A fresh unguessable run token (`r` + 32 hex digits).
 *
 * @example
 * ```ts
 * isValidRunToken(newRunToken()); // true
 * ```
 */
export function newRunToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "r" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * True when `token` is a usable run token: 16–128 characters of `[A-Za-z0-9_-]`.
 *
 * @example
 * ```ts
 * isValidRunToken("r0123456789abcdef"); // true
 * isValidRunToken("short"); // false
 * ```
 */
export function isValidRunToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/**
 * Whether tree kill works on an OS, and why not.
 *
 * @example
 * ```ts
 * const support: TreeKillSupport = treeKillSupport("linux");
 * if (!support.sweep) console.warn(support.reason);
 * ```
 */
export interface TreeKillSupport {
  supported: boolean;
  /**
   * Whether a final sweep after the child exited is safe: true where the run's processes are
   * found by marker and group; false on Windows, where `taskkill /T` works by pid and a pid can
   * be reused once the child is gone.
   */
  sweep: boolean;
  reason: string;
}

/**
 * What tree kill can do on `os` (default: this machine).
 *
 * @example
 * ```ts
 * treeKillSupport("freebsd").supported; // false
 * ```
 */
export function treeKillSupport(os: string = Deno.build.os): TreeKillSupport {
  if (os === "linux") {
    return { supported: true, sweep: true, reason: "procps ps with environment (tested)" };
  }
  if (os === "darwin") return { supported: true, sweep: true, reason: "BSD ps -E (untested)" };
  if (os === "windows") {
    return {
      supported: true,
      sweep: false,
      reason: "taskkill /T /F ends the child and its descendants by parent link; a process " +
        "that outlived its parent is not reached (no marker sweep on Windows)",
    };
  }
  return {
    supported: false,
    sweep: false,
    reason: `process-tree kill is not supported on ${os}: no process groups or kill/ps tools; ` +
      "only the main child is killed",
  };
}

/**
 * Absolute paths of the `kill` and `ps` binaries.
 *
 * @example
 * ```ts
 * const tools: ProcessTools = { killBin: "/usr/bin/kill", psBin: "/usr/bin/ps" };
 * ```
 */
export interface ProcessTools {
  killBin: string;
  psBin: string;
}

/**
 * Finds `kill` and `ps` in the conventional places (needs read access to them). Resolve once in
 * the daemon's main thread and pass the paths to the worker, whose `run` allowlist holds them.
 *
 * @example
 * ```ts
 * const { killBin, psBin } = resolveProcessTools(); // e.g. "/usr/bin/kill", "/usr/bin/ps"
 * ```
 */
export function resolveProcessTools(): ProcessTools {
  const support = treeKillSupport();
  if (!support.supported) throw new Error(support.reason);
  if (Deno.build.os === "windows") {
    const system32 = `${Deno.env.get("SystemRoot") ?? "C:\\Windows"}\\System32`;
    return { killBin: `${system32}\\taskkill.exe`, psBin: `${system32}\\tasklist.exe` };
  }
  const find = (name: string) => {
    for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) {
      const path = `${dir}/${name}`;
      try {
        if (Deno.statSync(path).isFile) return path;
      } catch { /* try the next one */ }
    }
    throw new Error(`cannot find the "${name}" binary in /usr/bin, /bin, /usr/sbin or /sbin`);
  };
  return { killBin: find("kill"), psBin: find("ps") };
}

/**
 * One row of the process listing.
 *
 * @example
 * ```ts
 * const row: ProcessInfo = { pid: 10, ppid: 1, pgid: 10, stat: "S", hasToken: true };
 * ```
 */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** `ps` state letters; a leading `Z` is a zombie (already dead, not killable). */
  stat: string;
  /** True when the process carries `CMESH_RUN_ID=<token>` in its environment. */
  hasToken: boolean;
}

/**
 * The `ps` arguments that list every process with its environment, per OS.
 *
 * @example
 * ```ts
 * psArguments("darwin"); // ["-A", "-ww", "-E", "-o", "pid=,ppid=,pgid=,stat=,command="]
 * ```
 */
export function psArguments(os: string = Deno.build.os): string[] {
  if (os === "linux") return ["-e", "-ww", "-o", "pid=,ppid=,pgid=,stat=,args=", "e"];
  if (os === "darwin") return ["-A", "-ww", "-E", "-o", "pid=,ppid=,pgid=,stat=,command="];
  throw new Error(`listing processes with their environment is not supported on ${os}`);
}

const PS_LINE = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s?(.*)$/;

/**
 * Parses a `ps` listing (see {@link psArguments}) and marks the rows carrying `token`. The marker
 * must appear as a whole word `CMESH_RUN_ID=<token>` (the environment follows the arguments).
 *
 * @example
 * ```ts
 * parsePsListing(" 10 1 10 S sleep 9 CMESH_RUN_ID=rabc HOME=/\n", "rabc");
 * // [{pid:10, ppid:1, pgid:10, stat:"S", hasToken:true}]
 * ```
 */
export function parsePsListing(listing: string, token: string | null): ProcessInfo[] {
  const needle = token === null ? null : ` ${RUN_TOKEN_ENV}=${token}`;
  const rows: ProcessInfo[] = [];
  for (const line of listing.split("\n")) {
    const m = PS_LINE.exec(line);
    if (!m) continue;
    const rest = " " + m[5];
    let hasToken = false;
    if (needle !== null) {
      for (let at = rest.indexOf(needle); at !== -1; at = rest.indexOf(needle, at + 1)) {
        const after = rest.charAt(at + needle.length);
        if (after === "" || /\s/.test(after)) {
          hasToken = true;
          break;
        }
      }
    }
    rows.push({ pid: +m[1], ppid: +m[2], pgid: +m[3], stat: m[4], hasToken });
  }
  return rows;
}

const PS_TIMEOUT_MS = 10_000;
const PS_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Lists every process (with token marks) by running `ps`. Throws when `ps` fails.
 *
 * @example
 * ```ts
 * const rows = await listProcesses("/usr/bin/ps", "r0123456789abcdef0123456789abcdef");
 * const marked = rows.filter((p) => p.hasToken);
 * ```
 */
export async function listProcesses(psBin: string, token: string | null): Promise<ProcessInfo[]> {
  const r = await runBounded(psBin, {
    args: psArguments(),
    env: { LC_ALL: "C" },
    maxStdoutBytes: PS_MAX_BYTES,
    timeoutMs: PS_TIMEOUT_MS,
  });
  if (r.code !== 0 && !r.stdoutTruncated) {
    throw new Error(`${psBin} failed (code ${r.code}, signal ${r.signal}): ${r.stderr.trim()}`);
  }
  return parsePsListing(new TextDecoder().decode(r.stdout), token);
}

/**
 * True for pids the tree killer must never touch: nothing, init, and this process.
 *
 * @example
 * ```ts
 * isProtectedPid(1); // true
 * isProtectedPid(Deno.pid); // true
 * ```
 */
export function isProtectedPid(pid: number): boolean {
  return pid <= 1 || pid === Deno.pid;
}

/**
 * The pids of live (non-zombie) processes carrying the run token.
 *
 * @example
 * ```ts
 * const pids = await findProcessesByToken("r0123456789abcdef0123456789abcdef", "/usr/bin/ps");
 * ```
 */
export async function findProcessesByToken(token: string, psBin: string): Promise<number[]> {
  if (!isValidRunToken(token)) throw new Error("invalid run token");
  const rows = await listProcesses(psBin, token);
  return rows.filter((p) => p.hasToken && !p.stat.startsWith("Z") && !isProtectedPid(p.pid))
    .map((p) => p.pid);
}

/**
 * `root` and every process below it (by parent pid) in one listing.
 *
 * @example
 * ```ts
 * const rows = parsePsListing(" 10 1 10 S bwrap\n 11 10 11 S sh\n 12 1 12 S other\n", null);
 * descendantsOf(rows, 10); // Set {10, 11}
 * ```
 */
export function descendantsOf(rows: readonly ProcessInfo[], root: number): Set<number> {
  const children = new Map<number, number[]>();
  for (const p of rows) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const out = new Set<number>();
  const stack = rows.some((p) => p.pid === root) ? [root] : [];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (out.has(pid)) continue;
    out.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}
