/**
 * @module
 * Small helpers shared by the benchmarks: percentiles, process RSS, the machine description,
 * and a command timer that runs inside a network namespace.
 *
 * @example
 * ```ts
 * import { percentiles, rssMiB } from "./stats.ts";
 * percentiles([3, 1, 2]); // { n: 3, min: 1, p50: 2, p95: 3, p99: 3, max: 3, mean: 2 }
 * ```
 */

/** Summary of a sample of durations (ms) or sizes. */
export interface Summary {
  n: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Nearest-rank percentiles of `xs`, rounded to `digits` decimals. */
export function percentiles(xs: number[], digits = 1): Summary {
  if (xs.length === 0) throw new Error("no samples");
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return {
    n: s.length,
    min: round(s[0], digits),
    p50: round(at(0.5), digits),
    p95: round(at(0.95), digits),
    p99: round(at(0.99), digits),
    max: round(s[s.length - 1], digits),
    mean: round(s.reduce((a, b) => a + b, 0) / s.length, digits),
  };
}

/** Resident set size of `pid` in MiB, read with `ps -o rss=` (null when it is gone). */
export async function rssMiB(pid: number): Promise<number | null> {
  const out = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  const kib = Number(new TextDecoder().decode(out.stdout).trim());
  return out.code === 0 && kib > 0 ? round(kib / 1024) : null;
}

/**
 * The two halves of `pid`'s RSS in MiB, from `/proc/<pid>/status`: `anon` (heaps: V8, SQLite,
 * buffers) and `file` (mapped files, mostly the executable's own code pages, shared with every
 * other process running it and reclaimable), or null off Linux.
 */
export async function rssParts(pid: number): Promise<{ anon: number; file: number } | null> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => null);
  if (!status) return null;
  const kib = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
  return { anon: round(kib("RssAnon") / 1024), file: round(kib("RssFile") / 1024) };
}

/** Samples `pid`'s RSS every `everyMs` until `stop` resolves; returns the samples (MiB). */
export async function sampleRss(
  pid: number,
  stop: Promise<unknown>,
  everyMs = 100,
): Promise<number[]> {
  const samples: number[] = [];
  let done = false;
  stop.finally(() => done = true);
  while (!done) {
    const r = await rssMiB(pid);
    if (r !== null) samples.push(r);
    await Promise.race([stop, new Promise((r) => setTimeout(r, everyMs))]).catch(() => {});
  }
  return samples;
}

/** What the numbers were measured on. */
export interface Machine {
  nproc: number;
  cpu: string;
  mem_total_mib: number;
  kernel: string;
  os: string;
  deno: string;
  v8: string;
  sqlite: string;
  date: string;
}

async function text(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "";
  }
}

/** Describes this machine (`nproc`, CPU model, RAM, kernel, Deno and SQLite versions). */
export async function machine(): Promise<Machine> {
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const osRelease = await Deno.readTextFile("/etc/os-release").catch(() => "");
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(":memory:");
  const sqlite = (db.prepare("select sqlite_version() as v").get() as { v: string }).v;
  db.close();
  return {
    nproc: Number(await text("nproc", [])) || navigator.hardwareConcurrency,
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown",
    mem_total_mib: Math.round(Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? 0) / 1024),
    kernel: await text("uname", ["-r"]),
    os: /PRETTY_NAME="([^"]*)"/.exec(osRelease)?.[1] ?? Deno.build.os,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    sqlite,
    date: new Date().toISOString(),
  };
}

/**
 * Runs `argv` `runs` times from inside `wrap` (e.g. `ip netns exec ns`), timing each run from
 * spawn to exit in a helper process started there, so the wrapper's own start-up is not
 * counted. Returns the durations (ms) and the first run's output.
 */
export async function timeCommand(
  wrap: string[],
  argv: string[],
  runs: number,
): Promise<{ ms: number[]; firstOutput: string; failures: number }> {
  const helper = new URL("./time_cmd.ts", import.meta.url).pathname;
  const full = [...wrap, Deno.execPath(), "run", "-A", "--quiet", helper];
  const out = await new Deno.Command(full[0], {
    args: [...full.slice(1), JSON.stringify({ argv, runs })],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    throw new Error(`timing helper failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout));
}
