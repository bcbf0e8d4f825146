/**
 * @module
 * `cmesh_setup_apply`'s core: write a {@link Plan} the user confirmed. Only a plan this
 * process proposed can be applied, named by its hash (so the agent must echo the hash the
 * user saw); the file must still be what the plan was computed from; the previous file is
 * copied to `config.toml.bak-<time>`; the write is atomic (mode 0600); and a `config.change`
 * record goes into the audit log — if that fails, the previous file is put back.
 *
 * @example
 * ```ts
 * import { applyPlan, PlanBook } from "./apply.ts";
 * import { buildPlan } from "./plan.ts";
 * const stateDir = "/home/ann/.local/state/cmesh";
 * const plan = await buildPlan(null, "/home/ann/.config/cmesh/config.toml", {
 *   outbound_peers: [{ name: "buildbox" }],
 * });
 * const book = new PlanBook();
 * book.remember(plan);
 * const out = await applyPlan(book.get(plan.hash)!, { stateDir });
 * ```
 */
import { dirname, join } from "node:path";
import { parseConfigText } from "../config/load.ts";
import { Config } from "../config/schema.ts";
import { appendAudit } from "../store/audit.ts";
import { openStore } from "../store/db.ts";
import { pruneBackups } from "../util/backups.ts";
import type { Plan } from "./plan.ts";
import { wideningChanges } from "./widening.ts";

function realpathOrNull(path: string): string | null {
  try {
    return Deno.realPathSync(path);
  } catch {
    return null;
  }
}

/**
 * What `plan` would widen (see `widening.ts`): its proposed config against the current one
 * (the defaults when there is no current file or it does not load), roots compared after
 * resolving symlinks. `[]` means MCP may apply it without asking the human again.
 */
export function planWidenings(plan: Plan): string[] {
  let before: Config;
  try {
    before = plan.current === null ? Config.parse({}) : parseConfigText(plan.current, plan.file);
  } catch {
    before = Config.parse({});
  }
  let after: Config;
  try {
    after = parseConfigText(plan.proposed, plan.file);
  } catch (e) {
    return [`the proposed config does not load (${(e as Error).message.split("\n")[0]})`];
  }
  return wideningChanges(before, after, realpathOrNull);
}

/** Who applied a plan, for the `config.change` audit record. */
export interface ApplyActor {
  local: "mcp" | "cli";
  /** The tool or command. */
  via: string;
  /** How the human confirmed a widening plan (`mcp_elicitation`, `terminal`), if it widened. */
  confirmed_by?: string;
}

/** The plans this process proposed, by hash (the newest 32). */
export class PlanBook {
  #plans = new Map<string, Plan>();

  /** Keeps a plan so it can be applied by hash. */
  remember(plan: Plan): void {
    this.#plans.delete(plan.hash);
    this.#plans.set(plan.hash, plan);
    while (this.#plans.size > 32) this.#plans.delete(this.#plans.keys().next().value!);
  }

  /** The plan with this hash, if this process proposed it. */
  get(hash: string): Plan | undefined {
    return this.#plans.get(hash.trim().toLowerCase());
  }
}

/** Why a plan was not applied; the message says what to do. */
export class ApplyError extends Error {
  constructor(message: string, readonly code: "stale_plan" | "audit_failed") {
    super(message);
    this.name = "ApplyError";
  }
}

/** What applying did. */
export interface ApplyOutcome {
  file: string;
  /** The previous file's copy, or null when there was none. */
  backup: string | null;
  /** The audit record's sequence number. */
  audit_seq: number;
}

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

async function sha256(text: string | null): Promise<string | null> {
  if (text === null) return null;
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Writes a confirmed plan, with a backup and an audit record. */
export async function applyPlan(
  plan: Plan,
  opts: {
    stateDir: string;
    now?: () => Date;
    actor?: ApplyActor;
    /** The plan's widening changes, recorded with it. */
    widens?: string[];
  },
): Promise<ApplyOutcome> {
  const now = opts.now ?? (() => new Date());
  const current = await readOrNull(plan.file);
  if (current !== plan.current) {
    throw new ApplyError(
      `${plan.file} changed since this plan was made: call cmesh_setup_plan again and show the user the new diff`,
      "stale_plan",
    );
  }
  // Open the audit log first: if it cannot take the record, nothing is written.
  const store = openStore(join(opts.stateDir, "cmesh.db"));
  try {
    let backup: string | null = null;
    if (current !== null) {
      backup = `${plan.file}.bak-${now().toISOString().replace(/[:.]/g, "-")}`;
      await Deno.copyFile(plan.file, backup);
    }
    await Deno.mkdir(dirname(plan.file), { recursive: true, mode: 0o700 });
    const tmp = `${plan.file}.tmp-${Deno.pid}`;
    await Deno.writeTextFile(tmp, plan.proposed, { mode: 0o600 });
    await Deno.rename(tmp, plan.file);
    try {
      const rec = appendAudit(store, {
        kind: "config.change",
        actor: opts.actor
          ? {
            local: opts.actor.local,
            tool: opts.actor.via,
            ...(opts.actor.confirmed_by ? { confirmed_by: opts.actor.confirmed_by } : {}),
          }
          : { local: "mcp", tool: "cmesh_setup_apply" },
        reason: plan.changes.join("; "),
        data: {
          file: plan.file,
          plan_hash: plan.hash,
          backup,
          before_sha256: await sha256(current),
          after_sha256: await sha256(plan.proposed),
          ...(opts.widens?.length ? { widens: opts.widens } : {}),
        },
      });
      if (backup) await pruneBackups(plan.file, ".bak-");
      return { file: plan.file, backup, audit_seq: rec.seq };
    } catch (e) {
      if (backup) await Deno.copyFile(backup, plan.file);
      else await Deno.remove(plan.file).catch(() => {});
      throw new ApplyError(
        `could not record the change in the audit log (${
          (e as Error).message
        }); ${plan.file} was put back as it was`,
        "audit_failed",
      );
    }
  } finally {
    store.close();
  }
}
