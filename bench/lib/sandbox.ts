/**
 * @module
 * The OS sandbox's added time per run: `/usr/bin/true` started bare and inside the exact bwrap
 * argv a `query` run gets (own namespaces, the bind list, a fresh /proc), interleaved so both
 * see the same machine load. The per-run dirs are made once, as the executor makes them per run
 * (that mkdir is not counted).
 */
import { probeSandbox } from "../../src/runner/sandbox/availability.ts";
import { hostLayout } from "../../src/runner/sandbox/host.ts";
import { prepareRunSandbox } from "../../src/runner/sandbox/mod.ts";
import { percentiles, type Summary } from "./stats.ts";

/** What {@link benchSandbox} measured. */
export interface SandboxResult {
  runs: number;
  bare_ms: Summary;
  sandboxed_ms: Summary;
  /** Sandboxed minus bare, per interleaved pair. */
  added_ms: Summary;
  failures: string[];
}

async function timed(argv: string[], cwd: string): Promise<number> {
  const t = performance.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t;
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).trim());
  return ms;
}

/** Times `runs` interleaved pairs (after `warmup` pairs); null when bwrap is unusable here. */
export async function benchSandbox(
  opts: { runs: number; warmup: number },
): Promise<SandboxResult | null> {
  const availability = await probeSandbox();
  if (!availability.ok || availability.kind !== "bwrap") return null;
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmesh-bench-sbx-" }));
  const failures: string[] = [];
  try {
    const cwd = `${base}/cwd`;
    await Deno.mkdir(cwd);
    const prepared = prepareRunSandbox(
      { mode: "required", availability, host: await hostLayout() },
      {
        profile: "query",
        cwd,
        runDir: `${base}/run`,
        installPaths: [],
        configDirs: [],
        network: { kind: "host" },
      },
    );
    if (!prepared.ok || !prepared.sandbox) throw new Error("cannot prepare the sandbox");
    const bare = ["/usr/bin/true"];
    const wrapped = prepared.sandbox.wrap(bare);
    const b: number[] = [];
    const s: number[] = [];
    const added: number[] = [];
    for (let i = 0; i < opts.warmup + opts.runs; i++) {
      try {
        // Alternate which goes first, so neither always runs on a warmer cache.
        let x: number, y: number;
        if (i % 2 === 0) {
          x = await timed(bare, cwd);
          y = await timed(wrapped, cwd);
        } else {
          y = await timed(wrapped, cwd);
          x = await timed(bare, cwd);
        }
        if (i < opts.warmup) continue;
        b.push(x);
        s.push(y);
        added.push(y - x);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
    return {
      runs: b.length,
      bare_ms: percentiles(b),
      sandboxed_ms: percentiles(s),
      added_ms: percentiles(added),
      failures,
    };
  } finally {
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
}
