/**
 * @module
 * Plans kept on disk so the human can apply one from a terminal (`cmesh config apply <hash>`)
 * when the agent may not (a plan that widens inbound access, see `widening.ts`). One JSON file
 * per plan in `<state dir>/plans/` (directory 0700, files 0600), named by the plan's hash.
 * Bounded: the newest {@link MAX_STORED_PLANS} are kept and a plan expires after
 * {@link PLAN_TTL_MS}. A loaded plan must hash to its own name, so a file edited by hand is
 * refused; applying also checks that the config file is still what the plan was made from.
 *
 * @example
 * ```ts
 * import type { Plan } from "./plan.ts";
 * import { loadStoredPlan, savePlan } from "./plan_store.ts";
 * declare const plan: Plan;
 * const stateDir = "/home/ann/.local/state/cmesh";
 * await savePlan(stateDir, plan);
 * const got = await loadStoredPlan(stateDir, plan.hash);
 * if (got.ok) console.log(got.plan.diff);
 * ```
 */
import { join } from "node:path";
import { z } from "../deps/zod.ts";
import { loadConfig } from "../config/load.ts";
import { currentPaths, stateDirFor } from "../config/paths.ts";
import { type Plan, planHash } from "./plan.ts";

/** How long a stored plan can be applied (1 hour). */
export const PLAN_TTL_MS = 60 * 60 * 1000;
/** How many stored plans are kept (the newest). */
export const MAX_STORED_PLANS = 32;

const HASH = /^[0-9a-f]{16}$/;

const StoredPlan = z.strictObject({
  saved_at: z.string(),
  plan: z.strictObject({
    hash: z.string().regex(HASH),
    file: z.string().min(1),
    exists: z.boolean(),
    current: z.string().nullable(),
    proposed: z.string(),
    diff: z.string(),
    changes: z.array(z.string()),
    warnings: z.array(z.string()),
  }),
});

/** Where plans are stored for a state dir. */
export function plansDir(stateDir: string): string {
  return join(stateDir, "plans");
}

/**
 * The state dir plans for `configFile` are kept in: the config's `daemon.state_dir`, else the
 * default (also when the current file does not load: it may be the broken one being fixed).
 */
export async function planStateDir(configFile: string): Promise<string> {
  try {
    return stateDirFor((await loadConfig(configFile)).config);
  } catch {
    return currentPaths().stateDir;
  }
}

async function listStored(dir: string): Promise<{ path: string; mtime: number }[]> {
  const out: { path: string; mtime: number }[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !/^[0-9a-f]{16}\.json$/.test(e.name)) continue;
      const path = join(dir, e.name);
      const st = await Deno.stat(path).catch(() => null);
      if (st) out.push({ path, mtime: st.mtime?.getTime() ?? 0 });
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort((a, b) => b.mtime - a.mtime);
}

/** Stores `plan` (replacing one with the same hash) and drops expired and surplus plans. */
export async function savePlan(stateDir: string, plan: Plan, now = new Date()): Promise<string> {
  const dir = plansDir(stateDir);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${plan.hash}.json`);
  const tmp = `${path}.tmp-${Deno.pid}`;
  const body: z.infer<typeof StoredPlan> = {
    saved_at: now.toISOString(),
    plan: {
      hash: plan.hash,
      file: plan.file,
      exists: plan.exists,
      current: plan.current,
      proposed: plan.proposed,
      diff: plan.diff,
      changes: plan.changes,
      warnings: plan.warnings,
    },
  };
  await Deno.writeTextFile(tmp, JSON.stringify(body), { mode: 0o600 });
  await Deno.rename(tmp, path);
  const stored = await listStored(dir);
  for (const [i, s] of stored.entries()) {
    if (s.path === path) continue;
    if (i >= MAX_STORED_PLANS || now.getTime() - s.mtime > PLAN_TTL_MS) {
      await Deno.remove(s.path).catch(() => {});
    }
  }
  return path;
}

/** A stored plan, or why it cannot be used (the reason says what to do). */
export type LoadedPlan = { ok: true; plan: Plan; savedAt: string } | {
  ok: false;
  code: "bad_hash" | "no_plan" | "expired" | "corrupt";
  reason: string;
};

/** Loads the stored plan named `hash`, checking its form, age and hash. */
export async function loadStoredPlan(
  stateDir: string,
  hash: string,
  now = new Date(),
): Promise<LoadedPlan> {
  const h = hash.trim().toLowerCase();
  if (!HASH.test(h)) {
    return { ok: false, code: "bad_hash", reason: `"${hash}" is not a plan hash (16 hex digits)` };
  }
  const path = join(plansDir(stateDir), `${h}.json`);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return {
        ok: false,
        code: "no_plan",
        reason: `no stored plan ${h} in ${plansDir(stateDir)}: make the plan again ` +
          `(cmesh_setup_plan) and use the hash it shows`,
      };
    }
    throw e;
  }
  let parsed;
  try {
    parsed = StoredPlan.safeParse(JSON.parse(text));
  } catch {
    parsed = null;
  }
  if (!parsed?.success) {
    return { ok: false, code: "corrupt", reason: `${path} is not a stored plan` };
  }
  const { plan, saved_at } = parsed.data;
  const again = await planHash(plan.file, plan.current, plan.proposed);
  if (plan.hash !== h || again !== h) {
    return {
      ok: false,
      code: "corrupt",
      reason: `${path} does not match its hash (edited after it was made): make the plan again`,
    };
  }
  const age = now.getTime() - Date.parse(saved_at);
  if (!(age >= 0 && age <= PLAN_TTL_MS)) {
    return {
      ok: false,
      code: "expired",
      reason: `plan ${h} expired (plans can be applied for ${
        PLAN_TTL_MS / 60_000
      } minutes): make the plan again`,
    };
  }
  return { ok: true, plan, savedAt: saved_at };
}
