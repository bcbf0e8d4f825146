/**
 * @module
 * `cmesh_setup_plan`'s core: a proposed `config.toml` built from the current one and what the
 * user asked for, with safe defaults — outbound peers get the `query` profile only, inbound
 * stays disabled unless the user asks for it and names the cwd roots, and any profile beyond
 * `query` is flagged. Only an inbound rule enables a profile (`profiles.X.enabled` is the
 * inbound switch); an outbound peer never does. Each warning names its direction
 * ("inbound: …", "outbound: …"). The proposal is validated with the
 * real config schema, shown as a unified diff, and identified by a hash that
 * `cmesh_setup_apply` must be given back. Pure.
 *
 * @example
 * ```ts
 * import { buildPlan } from "./plan.ts";
 * const plan = await buildPlan(null, "/home/ann/.config/cmesh/config.toml", {
 *   outbound_peers: [{ name: "buildbox" }],
 * });
 * plan.hash; // 16 hex digits
 * ```
 */
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { ConfigError } from "../config/errors.ts";
import { parseConfigText } from "../config/load.ts";
import { CONFIG_TEMPLATE } from "../config/template.ts";
import { unifiedDiff } from "./diff.ts";

/** One peer this machine should be able to delegate to. */
export interface PlanOutboundPeer {
  name: string;
  /** Tailnet IP or host, when name resolution through Tailscale should be bypassed. */
  address?: string;
  /** Its Tailscale StableID, to pin it from the start (`cmesh_setup_status` lists them). */
  stable_id?: string;
  /** Its worker port, when not the default 7433. */
  port?: number;
  /** Profiles I may send it (default `["query"]`). */
  profiles?: string[];
  /** cwd patterns I may send it (default: the existing entry's, else `["/**"]`). */
  cwd?: string[];
}

/** Whether, and from whom, this machine accepts tasks. */
export interface PlanInbound {
  enabled: boolean;
  /** Peer node names allowed to send tasks (one rule for all of them). */
  allow_peers?: string[];
  /** Absolute cwd roots those peers may use. Required with `allow_peers`. */
  cwd_roots?: string[];
  /** Profiles for that rule (default `["query"]`). */
  profiles?: string[];
  /** Runners for that rule (default `["claude", "codex"]`). */
  runners?: string[];
}

/** What the user asked for. */
export interface PlanRequest {
  node_name?: string;
  outbound_peers?: PlanOutboundPeer[];
  inbound?: PlanInbound;
}

/** A proposed config. */
export interface Plan {
  /** 16 hex digits over the file, the current text and the proposal. */
  hash: string;
  file: string;
  exists: boolean;
  current: string | null;
  proposed: string;
  /** Unified diff; empty when nothing changes. */
  diff: string;
  /** What changes, one line each, for the user. */
  changes: string[];
  /** What the user should think about before confirming. */
  warnings: string[];
}

/** A request that cannot become a valid config; the message says what to ask the user. */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlanError";
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function table(root: Obj, key: string): Obj {
  const t = root[key];
  if (t === undefined) return (root[key] = {}) as Obj;
  if (!isObj(t)) throw new PlanError(`the current config's ${key} is not a table`);
  return t;
}

function list(root: Obj, key: string, where: string): Obj[] {
  const l = root[key];
  if (l === undefined) return (root[key] = []) as Obj[];
  if (!Array.isArray(l)) throw new PlanError(`the current config's ${where} is not a list`);
  return l as Obj[];
}

const HEADER =
  "# cmesh configuration (written by cmesh_setup_apply; every key: docs/configuration.md)\n";

/** sha256 hex of text. */
async function sha256(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A plan's id: 16 hex digits of sha256 over the file name, the current text (or its absence)
 * and the proposed text, so a stored plan can be checked against its own hash.
 */
export async function planHash(
  file: string,
  current: string | null,
  proposed: string,
): Promise<string> {
  return (await sha256(`${file}\0${current ?? "\u0000missing"}\0${proposed}`)).slice(0, 16);
}

/** What a profile beyond `query` lets an agent do, for a warning. */
function profileReach(name: string): string {
  if (name === "full") return "do anything the runner can (read docs/security.md first)";
  if (name === "edit") return "write files in the task's cwd";
  if (name === "build") return "write files and run build/test commands";
  return `do what the ${name} profile allows`;
}

/**
 * Inbound side: switches each named profile on, since an inbound rule may only name enabled
 * profiles. Warnings start with "inbound:" and speak of this machine.
 */
function enableProfiles(raw: Obj, names: string[], changes: string[], warnings: string[]): void {
  const profiles = table(raw, "profiles");
  for (const name of names) {
    if (name === "query") continue;
    const p = profiles[name];
    if (isObj(p) && p.enabled === true) continue;
    profiles[name] = { ...(isObj(p) ? p : {}), enabled: true };
    changes.push(`enable the ${name} profile for inbound tasks on this machine`);
    warnings.push(
      `inbound: the ${name} profile lets a remote agent ${profileReach(name)} on this machine`,
    );
  }
}

const BUILTIN_PROFILES = new Set(["query", "edit", "build", "full"]);

/**
 * Outbound side: a profile I may send only has to be *defined* here (`profiles.X.enabled` is
 * the inbound switch), so nothing is enabled: least privilege. A custom profile this file does
 * not know yet is defined disabled. Warnings start with "outbound:" and speak of the peer.
 */
function noteOutboundProfiles(
  raw: Obj,
  peer: string,
  names: string[],
  changes: string[],
  warnings: string[],
): void {
  for (const name of names) {
    if (name === "query") continue;
    if (!BUILTIN_PROFILES.has(name)) {
      const profiles = table(raw, "profiles");
      if (!(name in profiles)) {
        profiles[name] = { enabled: false };
        changes.push(`define the ${name} profile (disabled for inbound tasks on this machine)`);
      }
    }
    warnings.push(
      `outbound: ${name} tasks this machine sends to ${peer} let its agent ${
        profileReach(name)
      } on ${peer}`,
    );
  }
}

/** Builds the plan. Throws {@link PlanError} for an unusable request or current file. */
export async function buildPlan(
  current: string | null,
  file: string,
  req: PlanRequest,
): Promise<Plan> {
  let raw: Obj;
  try {
    raw = current === null ? {} : parseToml(current) as Obj;
  } catch (e) {
    throw new PlanError(
      `the current ${file} is not valid TOML (${
        (e as Error).message.split("\n")[0]
      }): fix it by hand first`,
    );
  }
  raw = structuredClone(raw);
  const changes: string[] = [];
  const warnings: string[] = [];

  if (req.node_name !== undefined) {
    table(raw, "node").name = req.node_name;
    changes.push(`name this node "${req.node_name}"`);
  }
  for (const p of req.outbound_peers ?? []) {
    const peers = list(table(raw, "outbound"), "peers", "outbound.peers");
    const i = peers.findIndex((x) => x.name === p.name);
    const before = i >= 0 ? peers[i] : undefined;
    const entry: Obj = {
      ...(before ?? {}),
      name: p.name,
      ...(p.address ? { address: p.address } : {}),
      ...(p.stable_id ? { stable_id: p.stable_id } : {}),
      ...(p.port ? { port: p.port } : {}),
      profiles: p.profiles ?? (before?.profiles as string[] | undefined) ?? ["query"],
      cwd: p.cwd ?? (before?.cwd as string[] | undefined) ?? ["/**"],
    };
    if (i >= 0) peers[i] = entry;
    else peers.push(entry);
    changes.push(
      `${i >= 0 ? "update" : "add"} outbound peer ${p.name}: may send it ${
        (entry.profiles as string[]).join(", ")
      } tasks with cwd ${(entry.cwd as string[]).join(", ")}`,
    );
    noteOutboundProfiles(raw, p.name, entry.profiles as string[], changes, warnings);
  }
  if (req.inbound) {
    const inbound = table(raw, "inbound");
    const ib = req.inbound;
    if (inbound.enabled !== ib.enabled) {
      inbound.enabled = ib.enabled;
      changes.push(`${ib.enabled ? "enable" : "disable"} inbound tasks on this machine`);
    }
    if (ib.allow_peers?.length) {
      if (!ib.cwd_roots?.length) {
        throw new PlanError(
          `inbound.allow_peers needs cwd_roots: ask the user which directories (absolute paths) ${
            ib.allow_peers.join(", ")
          } may work in on this machine`,
        );
      }
      const rules = list(inbound, "allow", "inbound.allow");
      const key = [...ib.allow_peers].sort().join(",");
      const i = rules.findIndex((r) =>
        Array.isArray(r.peers) && [...(r.peers as string[])].sort().join(",") === key
      );
      const rule: Obj = {
        peers: ib.allow_peers,
        profiles: ib.profiles ?? ["query"],
        cwd: ib.cwd_roots,
        runners: ib.runners ?? ["claude", "codex"],
      };
      if (i >= 0) rules[i] = rule;
      else rules.push(rule);
      changes.push(
        `${i >= 0 ? "replace the" : "add an"} inbound rule: ${ib.allow_peers.join(", ")} may run ${
          (rule.profiles as string[]).join(", ")
        } tasks in ${ib.cwd_roots.join(", ")} with ${(rule.runners as string[]).join(", ")}`,
      );
      enableProfiles(raw, rule.profiles as string[], changes, warnings);
      if (ib.enabled) {
        warnings.push(
          `inbound: ${ib.allow_peers.join(", ")} can start coding agents on this machine inside ${
            ib.cwd_roots.join(", ")
          }`,
        );
      }
    }
  }

  const proposed = current === null && changes.length === 0
    ? CONFIG_TEMPLATE
    : changes.length === 0
    ? current!
    : HEADER + stringifyToml(raw).replace(/\n*$/, "\n");
  try {
    parseConfigText(proposed, file);
  } catch (e) {
    if (e instanceof ConfigError) {
      throw new PlanError(`the proposed config would be invalid:\n${e.problems.join("\n")}`);
    }
    throw e;
  }
  if (current !== null && changes.length && /^\s*#/m.test(current)) {
    warnings.push(
      "config: comments in the current file are not kept (the file is backed up first)",
    );
  }
  const hash = await planHash(file, current, proposed);
  return {
    hash,
    file,
    exists: current !== null,
    current,
    proposed,
    diff: unifiedDiff(current ?? "", proposed, file),
    changes: current === null && changes.length === 0
      ? ["create the starter config (inbound disabled, query only, no peers)"]
      : changes,
    warnings,
  };
}
