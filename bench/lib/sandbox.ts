/**
 * @module
 * The OS sandbox's added time per run: `/usr/bin/true` started bare and inside the exact bwrap
 * argv a `query` run gets (own namespaces, the bind list, the worker's `/etc` mirror, a fresh
 * /proc), interleaved so all see the same machine load; and, beside them, the same sandbox with
 * each `/etc` entry bound on its own (as before the mirror), and started ahead
 * (`runner/sandbox/warm.ts`: what a run pays when an earlier one with the same decision left it
 * its sandbox). The per-run dirs are made once, as
 * the executor makes them per run (that mkdir is not counted; the mirror's refresh is).
 */
import { probeSandbox } from "../../src/runner/sandbox/availability.ts";
import { hostLayout } from "../../src/runner/sandbox/host.ts";
import { EtcMirror } from "../../src/runner/sandbox/etc_mirror.ts";
import { prepareRunSandbox, type SandboxSettings } from "../../src/runner/sandbox/mod.ts";
import { WarmStart } from "../../src/runner/sandbox/warm.ts";
import { percentiles, type Summary } from "./stats.ts";

/** What {@link benchSandbox} measured. */
export interface SandboxResult {
  runs: number;
  bare_ms: Summary;
  sandboxed_ms: Summary;
  /** Sandboxed minus bare, per interleaved pair. */
  added_ms: Summary;
  /** The same sandbox with each `/etc` entry bound instead of the mirror. */
  etc_bound_each_ms?: Summary;
  /**
   * The same sandbox started ahead (`runner/sandbox/warm.ts`), as a run finds it after an earlier
   * one with the same decision: from the launch to the end (the start ahead is not counted).
   */
  started_ahead_ms?: Summary;
  /** Started ahead minus bare, per interleaved round. */
  started_ahead_added_ms?: Summary;
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
    const host = await hostLayout();
    const settings: SandboxSettings = {
      mode: "required",
      availability,
      host,
      etcMirror: new EtcMirror(`${base}/sandbox-etc`, host.etc),
    };
    const input = {
      profile: "query",
      cwd,
      runDir: `${base}/run`,
      installPaths: [],
      configDirs: [],
      network: { kind: "host" as const },
    };
    const each = prepareRunSandbox({ ...settings, etcMirror: undefined }, input);
    if (!each.ok || !each.sandbox) throw new Error("cannot prepare the sandbox");
    const bare = ["/usr/bin/true"];
    const boundEach = each.sandbox.wrap(bare);
    // As the executor does at every start: the mirror is refreshed, then the argv built.
    const mirrored = async () => {
      const t = performance.now();
      const prepared = prepareRunSandbox(settings, input);
      if (!prepared.ok || !prepared.sandbox) throw new Error("cannot prepare the sandbox");
      return performance.now() - t + await timed(prepared.sandbox.wrap(bare), cwd);
    };
    // Started ahead a moment before, as a run 30 ms after the last one finds it; then launched.
    const ahead = async (i: number) => {
      const runDir = `${base}/ahead-${i}`;
      const prepared = prepareRunSandbox(settings, { ...input, runDir });
      if (!prepared.ok || !prepared.sandbox?.warm) throw new Error("cannot prepare the sandbox");
      const w = prepared.sandbox.warm;
      const start = WarmStart.start({
        key: "bench",
        token: `rbench${String(i).padStart(12, "0")}`,
        runDir,
        ctl: w.ctl,
        argv: w.runner(w.ctl, [cwd]),
        checks: [cwd],
      });
      if (start === null) throw new Error("cannot start a sandbox ahead");
      await new Promise((r) => setTimeout(r, 60));
      const t = performance.now();
      const launched = await start.launch(bare, {});
      await start.child.stdin.close().catch(() => {});
      const [status] = await Promise.all([
        start.child.status,
        start.child.stdout.cancel(),
        start.child.stderr.cancel(),
      ]);
      const ms = performance.now() - t;
      await start.discard();
      if (!launched.ok) throw new Error(`not launched: ${launched.reason}`);
      if (!status.success) throw new Error(`exit ${status.code}`);
      return ms;
    };
    const b: number[] = [];
    const s: number[] = [];
    const e: number[] = [];
    const a: number[] = [];
    const added: number[] = [];
    const addedAhead: number[] = [];
    for (let i = 0; i < opts.warmup + opts.runs; i++) {
      try {
        // Rotate which goes first, so none always runs on a warmer cache.
        const times: number[] = [0, 0, 0, 0];
        const order = [[0, 1, 2, 3], [1, 2, 3, 0], [2, 3, 0, 1], [3, 0, 1, 2]][i % 4];
        for (const k of order) {
          times[k] = k === 0
            ? await timed(bare, cwd)
            : k === 1
            ? await mirrored()
            : k === 2
            ? await timed(boundEach, cwd)
            : await ahead(i);
        }
        if (i < opts.warmup) continue;
        b.push(times[0]);
        s.push(times[1]);
        e.push(times[2]);
        a.push(times[3]);
        added.push(times[1] - times[0]);
        addedAhead.push(times[3] - times[0]);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    return {
      runs: b.length,
      bare_ms: percentiles(b),
      sandboxed_ms: percentiles(s),
      added_ms: percentiles(added),
      etc_bound_each_ms: percentiles(e),
      started_ahead_ms: percentiles(a),
      started_ahead_added_ms: percentiles(addedAhead),
      failures,
    };
  } finally {
    await Deno.remove(base, { recursive: true }).catch(() => {});
  }
}
