/**
 * @module
 * `cmesh install-mcp` / `cmesh uninstall`'s core: find the agents installed here and add
 * (or remove) the `cmesh` MCP server in each one's config file. Idempotent (an identical
 * entry is left alone and nothing is written), every edited file is first copied to
 * `<file>.cmesh-bak-<time>`, writes are atomic (temp file + rename, mode kept), and other
 * entries are never touched.
 *
 * @example
 * ```ts
 * import { registerAgents } from "./register.ts";
 * const launch = { command: "cmesh", args: ["mcp"], env: {} };
 * const results = await registerAgents({ os: "linux", env: Deno.env.toObject(), launch });
 * for (const r of results) console.log(r.name, r.action);
 * ```
 */
import { dirname, join } from "node:path";
import {
  AgentConfigError,
  type EditResult,
  getJsonServer,
  getTomlServer,
  removeJsonServer,
  removeTomlServer,
  setJsonServer,
  setTomlServer,
} from "./edit.ts";
import {
  type AgentId,
  type AgentTarget,
  agentTargets,
  entryFor,
  type McpLaunch,
} from "./targets.ts";
import { pruneBackups } from "../../util/backups.ts";
import { pathExists } from "../../util/path_exists.ts";

/** The server name cmesh registers under. */
export const MCP_SERVER_NAME = "cmesh";

/** What happened for one agent. */
export interface AgentResult {
  id: AgentId;
  name: string;
  file: string;
  detected: boolean;
  action: "added" | "updated" | "unchanged" | "removed" | "absent" | "skipped" | "error";
  /** Copy of the file before the edit. */
  backup?: string;
  /** Why skipped, or the error. */
  message?: string;
  reformatted?: boolean;
  /** How the user can check it (e.g. `claude mcp list`). */
  check?: string;
}

/** Inputs for {@link registerAgents} and {@link unregisterAgents}. */
export interface AgentsOptions {
  os: typeof Deno.build.os;
  env: Record<string, string | undefined>;
  /** Only these agents; they are edited even when not detected. Default: every detected one. */
  only?: AgentId[];
  /** Say what would change, write nothing. */
  dryRun?: boolean;
  /** Clock for backup names (tests). */
  now?: () => Date;
}

async function onPath(binary: string, pathEnv: string, windows: boolean): Promise<boolean> {
  const exts = windows ? ["", ".exe", ".cmd", ".bat"] : [""];
  for (const dir of pathEnv.split(windows ? ";" : ":")) {
    if (!dir) continue;
    for (const ext of exts) {
      try {
        const st = await Deno.stat(join(dir, binary + ext));
        if (st.isFile && (windows || st.mode === null || (st.mode & 0o111) !== 0)) return true;
      } catch { /* not here */ }
    }
  }
  return false;
}

/** True when the agent looks installed (its config dir/file exists, or its CLI is on PATH). */
export async function isDetected(
  t: AgentTarget,
  env: Record<string, string | undefined>,
  os: typeof Deno.build.os,
): Promise<boolean> {
  for (const p of t.detectPaths) if (await pathExists(p)) return true;
  const pathEnv = env.PATH ?? env.Path ?? "";
  for (const b of t.detectBinaries) if (await onPath(b, pathEnv, os === "windows")) return true;
  return false;
}

async function readText(file: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

function backupName(file: string, now: Date): string {
  return `${file}.cmesh-bak-${now.toISOString().replace(/[:.]/g, "-")}`;
}

/** Writes `text` atomically, keeping the old file's mode (new files: 0600). */
async function writeAtomic(file: string, text: string): Promise<void> {
  let mode = 0o600;
  try {
    const st = await Deno.stat(file);
    if (st.mode !== null) mode = st.mode & 0o777;
  } catch { /* new file */ }
  await Deno.mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.cmesh-tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, text, { mode });
  if (Deno.build.os !== "windows") await Deno.chmod(tmp, mode);
  await Deno.rename(tmp, file);
}

async function apply(
  targets: AgentTarget[],
  opts: AgentsOptions,
  edit: (t: AgentTarget, text: string | null) => EditResult,
  verbs: { changed: (r: EditResult) => AgentResult["action"]; same: AgentResult["action"] },
): Promise<AgentResult[]> {
  const results: AgentResult[] = [];
  for (const t of targets) {
    const detected = await isDetected(t, opts.env, opts.os);
    const base = {
      id: t.id,
      name: t.name,
      file: t.file,
      detected,
      ...(t.listCommand ? { check: t.listCommand } : {}),
    };
    const wanted = opts.only ? opts.only.includes(t.id) : detected;
    if (!wanted) {
      results.push({
        ...base,
        action: "skipped",
        message: opts.only ? "not selected" : "not installed here",
      });
      continue;
    }
    try {
      const before = await readText(t.file);
      const r = edit(t, before);
      if (!r.changed) {
        results.push({ ...base, action: verbs.same });
        continue;
      }
      let backup: string | undefined;
      if (!opts.dryRun) {
        if (before !== null) {
          backup = backupName(t.file, (opts.now ?? (() => new Date()))());
          await Deno.copyFile(t.file, backup);
        }
        await writeAtomic(t.file, r.text);
        if (backup) await pruneBackups(t.file, ".cmesh-bak-");
      }
      results.push({
        ...base,
        action: verbs.changed(r),
        ...(backup ? { backup } : {}),
        ...(r.reformatted ? { reformatted: true } : {}),
      });
    } catch (e) {
      const message = e instanceof AgentConfigError
        ? e.message
        : `${t.file}: ${(e as Error).message}`;
      results.push({ ...base, action: "error", message });
    }
  }
  return results;
}

/** Adds (or updates) the cmesh MCP server in each selected agent. */
export function registerAgents(
  opts: AgentsOptions & { launch: McpLaunch },
): Promise<AgentResult[]> {
  return apply(
    agentTargets(opts.os, opts.env),
    opts,
    (t, text) => {
      const entry = entryFor(t.id, opts.launch);
      return t.format === "toml"
        ? setTomlServer(text, MCP_SERVER_NAME, entry, t.file)
        : setJsonServer(text, MCP_SERVER_NAME, entry, t.file);
    },
    { changed: (r) => (r.previous === undefined ? "added" : "updated"), same: "unchanged" },
  );
}

/** Removes the cmesh MCP server from each selected agent (default: every agent whose file has it). */
export function unregisterAgents(opts: AgentsOptions): Promise<AgentResult[]> {
  const targets = agentTargets(opts.os, opts.env);
  // Removal looks at every agent's file, detected or not: a leftover entry must go too.
  const all = { ...opts, only: opts.only ?? targets.map((t) => t.id) };
  return apply(
    targets,
    all,
    (t, text) =>
      t.format === "toml"
        ? removeTomlServer(text, MCP_SERVER_NAME, t.file)
        : removeJsonServer(text, MCP_SERVER_NAME, t.file),
    { changed: () => "removed", same: "absent" },
  );
}

/** One agent's registration, for `cmesh doctor` and the setup status. */
export interface AgentRegistration {
  id: AgentId;
  name: string;
  file: string;
  detected: boolean;
  registered: boolean;
  /** The command registered, when it is. */
  command?: string;
  /** A problem reading the file. */
  error?: string;
}

/** Which agents are installed and which have cmesh registered. */
export async function agentRegistrations(
  os: typeof Deno.build.os,
  env: Record<string, string | undefined>,
): Promise<AgentRegistration[]> {
  const out: AgentRegistration[] = [];
  for (const t of agentTargets(os, env)) {
    const detected = await isDetected(t, env, os);
    const base = { id: t.id, name: t.name, file: t.file, detected };
    try {
      const text = await readText(t.file);
      const entry = t.format === "toml"
        ? getTomlServer(text, MCP_SERVER_NAME, t.file)
        : getJsonServer(text, MCP_SERVER_NAME, t.file);
      const command = (entry as { command?: unknown } | undefined)?.command;
      out.push({
        ...base,
        registered: entry !== undefined,
        ...(typeof command === "string" ? { command } : {}),
      });
    } catch (e) {
      out.push({ ...base, registered: false, error: (e as Error).message });
    }
  }
  return out;
}
