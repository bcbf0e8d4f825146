/**
 * @module
 * Which warm sandboxes (`runner/sandbox/warm.ts`) a run takes, and the ones started for the next
 * run after it: the same sandbox (runner's, and git's over each work tree it looked at), started
 * a moment after the run ended, off the path to the caller. The next run with the same decision
 * then finds its sandbox made; the launch checks it still is the one that decision calls for.
 *
 * @example
 * ```ts
 * import { warmStartsFor } from "./warm_starts.ts";
 * import { WarmPool } from "../runner/sandbox/warm_pool.ts";
 * import type { SandboxPlan, WarmArgv } from "../runner/sandbox/mod.ts";
 * declare const plan: SandboxPlan;
 * const pool = new WarmPool({ max: 8, idleMs: 60_000 });
 * const w = warmStartsFor(pool, plan, "/srv/app", (token) => `/var/lib/cmesh/runs/${token}`);
 * // the run uses w.token, w.runDir and w.starts; when it has ended:
 * w.refill();
 * ```
 */
import { newRunToken } from "../runner/process_list.ts";
import type { RunWarmStarts } from "../runner/run.ts";
import type { SandboxPlan, WarmArgv } from "../runner/sandbox/mod.ts";
import { WarmStart } from "../runner/sandbox/warm.ts";
import type { WarmPool } from "../runner/sandbox/warm_pool.ts";

/**
 * How long after a run its warm sandboxes are started: the result is on its way to the caller
 * first (on two cores a sandbox start would slow it).
 */
export const WARM_AFTER_MS = 30;

/** What {@link warmStartsFor} gives a run. */
export interface RunWarmth {
  /** The run's token: the warm runner sandbox's, or a new one. */
  token: string;
  /** The run's dir: the warm runner sandbox's, or the new token's. */
  runDir: string;
  starts: RunWarmStarts;
  /** Starts (after {@link WARM_AFTER_MS}) what the next run like this one will want. */
  refill(): void;
}

/** Takes what waits for `plan` from `pool`; `cwd` is the run's realpath'd cwd. */
export function warmStartsFor(
  pool: WarmPool,
  plan: SandboxPlan,
  cwd: string,
  runDirOf: (token: string) => string,
): RunWarmth {
  const runner = plan.key === null ? null : pool.take(plan.key);
  const token = runner?.token ?? newRunToken();
  const gits = new Map<string, string>();
  return {
    token,
    runDir: runner?.runDir ?? runDirOf(token),
    starts: {
      runner,
      git: (key, repoTop) => {
        gits.set(key, repoTop);
        return pool.take(key);
      },
    },
    refill: () => {
      if (plan.key === null || pool.closed) return;
      const timer = setTimeout(() => startAhead(pool, plan, cwd, runDirOf, gits), WARM_AFTER_MS);
      Deno.unrefTimer(Number(timer));
    },
  };
}

function startAhead(
  pool: WarmPool,
  plan: SandboxPlan,
  cwd: string,
  runDirOf: (token: string) => string,
  gits: ReadonlyMap<string, string>,
): void {
  const start = (key: string, argvAt: Parameters<typeof startOne>[4]) => {
    if (!pool.closed && !pool.has(key)) startOne(pool, plan, key, runDirOf, argvAt);
  };
  start(plan.key!, (warm) => ({ argv: warm.runner(warm.ctl, [cwd]), checks: [cwd] }));
  for (const [key, repoTop] of gits) {
    const checks = [...new Set([cwd, repoTop])];
    start(key, (warm) => ({ argv: warm.git(warm.ctl, checks, repoTop), checks }));
  }
}

function startOne(
  pool: WarmPool,
  plan: SandboxPlan,
  key: string,
  runDirOf: (token: string) => string,
  argvAt: (warm: WarmArgv) => { argv: string[]; checks: string[] },
): void {
  const token = newRunToken();
  const runDir = runDirOf(token);
  const made = plan.at(runDir);
  if (!made.ok || made.sandbox.warm === null) return;
  const warm = made.sandbox.warm;
  const started = WarmStart.start({
    key,
    token,
    runDir,
    ctl: warm.ctl,
    ...argvAt(warm),
  });
  if (started === null) Deno.remove(runDir, { recursive: true }).catch(() => {});
  else pool.add(started);
}
