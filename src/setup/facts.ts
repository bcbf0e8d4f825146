/**
 * @module
 * Gathering what `cmesh doctor` and `cmesh_setup_status` judge: the config file, the state
 * directory and token, the daemon (control API), tailscaled (LocalAPI status), the runners
 * (with versions), the agents with cmesh registered, the user service, and — through the
 * daemon — the outbound peers. I/O only; {@link ./checks.ts} turns the facts into verdicts.
 *
 * @example
 * ```ts
 * import { gatherFacts } from "./facts.ts";
 * const facts = await gatherFacts({ configFile: "/home/ann/.config/cmesh/config.toml" });
 * facts.daemon.running;
 * ```
 */
import { join } from "node:path";
import { probeSandbox, type SandboxAvailability } from "../runner/sandbox/availability.ts";
import { effectiveSandboxMode, type SandboxMode } from "../runner/sandbox/mod.ts";
import { describeEgress, resolvedRunnerEgress } from "../runner/sandbox/egress/policy.ts";
import { ConfigError } from "../config/errors.ts";
import { loadConfig } from "../config/load.ts";
import { currentPaths, stateDirFor } from "../config/paths.ts";
import { type Config, Config as ConfigSchema, type EgressMode } from "../config/schema.ts";
import { ControlClient } from "../control/client.ts";
import type { ControlPeer, StatusAnswer } from "../protocol/control.ts";
import { controlTokenPath } from "../control/token.ts";
import { credentialNames } from "../runner/credential_hint.ts";
import { probeVersion, resolveBinary } from "../runner/probe.ts";
import { type ResolvedRunner, resolveRunners } from "../runner/runtime.ts";
import { serviceEnvironment, type ServiceStatus, serviceStatus } from "../service/manager.ts";
import { resolveLocalApi } from "../daemon/worker_setup.ts";
import { LocalApiClient } from "../tailscale/localapi.ts";
import { type AgentRegistration, agentRegistrations } from "./agents/register.ts";

/** The config file as found. */
export interface ConfigFacts {
  file: string;
  exists: boolean;
  valid: boolean;
  problems?: string[];
  /** The validated config, or the defaults when the file is missing or invalid. */
  config: Config;
}

/** A tailnet peer as LocalAPI lists it. */
export interface TailnetPeerFact {
  name: string;
  dnsName: string;
  addresses: string[];
  online: boolean;
  os: string;
  tags: string[];
  /** Tailscale's StableID (what `outbound.peers[].stable_id` pins). */
  stableId?: string;
  /** Shared in from another tailnet (never a delegation target). */
  shared?: boolean;
}

/** tailscaled, as LocalAPI status shows it. */
export interface TailscaleFacts {
  ok: boolean;
  /** Where the LocalAPI was asked. */
  where: string;
  reason?: string;
  backendState?: string;
  self?: { name: string; dnsName: string; addresses: string[] };
  peers?: TailnetPeerFact[];
  health?: string[];
}

/** One runner. */
export interface RunnerFact {
  name: string;
  available: boolean;
  binary?: string;
  version?: string;
  /** Why it is unavailable, or why the version probe failed. */
  problem?: string;
  /**
   * Env names the runner can take credentials from (manifest `env.pass` + `runners.<name>.env_pass`),
   * which of them are set here, and whether config sets any value itself (`runners.<name>.env`).
   */
  credentials?: {
    names: string[];
    present: string[];
    configSetsEnv: boolean;
    /**
     * Where `present` comes from: the running daemon's own environment (its control API
     * status), else this shell plus `service.env` (what an installed service would get).
     */
    source: "daemon" | "shell+service.env";
    /** The service's env file (`<config dir>/service.env`). */
    serviceEnvFile: string;
  };
  /** The network of its runs (`runners.<name>.egress`), e.g. `model: api.anthropic.com:443`. */
  egress?: { mode: EgressMode; describe: string };
}

/** Everything the checks look at. */
export interface SetupFacts {
  os: typeof Deno.build.os;
  config: ConfigFacts;
  stateDir: { path: string; exists: boolean; writable: boolean | null; problem?: string };
  token: { path: string; exists: boolean; mode: number | null; problem?: string };
  daemon:
    | { running: true; port: number; status: StatusAnswer }
    | { running: false; port: number; message?: string };
  tailscale: TailscaleFacts;
  runners: RunnerFact[];
  agents: AgentRegistration[];
  service: ServiceStatus | { error: string };
  /** The outbound peers as the daemon sees them (`GET /v1/peers`); `null` when it is not running. */
  peers: ControlPeer[] | null;
  /** The effective `[sandbox] mode` and whether runs can be sandboxed here. */
  sandbox: { mode: SandboxMode; availability: SandboxAvailability };
  /** What egress `model` needs here: `socat` (null when missing). */
  egress?: { socat: string | null };
}

async function configFacts(file: string): Promise<ConfigFacts> {
  try {
    const loaded = await loadConfig(file);
    return { file, exists: loaded.exists, valid: true, config: loaded.config };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    let exists = true;
    try {
      await Deno.stat(file);
    } catch {
      exists = false;
    }
    return { file, exists, valid: false, problems: e.problems, config: ConfigSchema.parse({}) };
  }
}

async function stateFacts(path: string): Promise<SetupFacts["stateDir"]> {
  try {
    const st = await Deno.stat(path);
    if (!st.isDirectory) return { path, exists: true, writable: false, problem: "not a directory" };
  } catch {
    return { path, exists: false, writable: null };
  }
  const probe = join(path, `.doctor-probe-${Deno.pid}`);
  try {
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
    return { path, exists: true, writable: true };
  } catch (e) {
    return { path, exists: true, writable: false, problem: (e as Error).message };
  }
}

async function tokenFacts(stateDir: string): Promise<SetupFacts["token"]> {
  const path = controlTokenPath(stateDir);
  try {
    const st = await Deno.stat(path);
    return { path, exists: true, mode: st.mode === null ? null : st.mode & 0o777 };
  } catch (e) {
    return e instanceof Deno.errors.NotFound
      ? { path, exists: false, mode: null }
      : { path, exists: false, mode: null, problem: (e as Error).message };
  }
}

/** The daemon's status and, when it runs, its outbound peers (both through the typed calls). */
async function daemonFacts(
  file: string,
  cfg: ConfigFacts,
): Promise<Pick<SetupFacts, "daemon" | "peers">> {
  const port = cfg.config.daemon.control_port;
  if (!cfg.valid) {
    return { daemon: { running: false, port, message: "config is invalid" }, peers: null };
  }
  const client = await ControlClient.fromConfig(file);
  const status = await client.status();
  if (!status.ok) {
    return { daemon: { running: false, port, message: status.error.message }, peers: null };
  }
  const peers = await client.peers();
  return {
    daemon: { running: true, port, status: status.value },
    peers: peers.ok ? peers.value.peers : null,
  };
}

/** Asks tailscaled for status through the configured LocalAPI. */
export async function tailscaleFacts(config: Config): Promise<TailscaleFacts> {
  let client: LocalApiClient;
  try {
    client = LocalApiClient.fromConfig((await resolveLocalApi(config.tailscale, false)).tailscale);
  } catch (e) {
    return { ok: false, where: "(invalid settings)", reason: (e as Error).message };
  }
  const where = client.describe();
  const st = await client.status();
  if (!st.ok) return { ok: false, where, reason: st.reason };
  return {
    ok: true,
    where,
    backendState: st.backendState,
    health: st.health,
    ...(st.self
      ? { self: { name: st.self.name, dnsName: st.self.dnsName, addresses: st.self.addresses } }
      : {}),
    peers: st.peers.map((p) => ({
      name: p.name,
      dnsName: p.dnsName,
      addresses: p.addresses,
      online: p.online,
      os: p.os,
      tags: p.tags,
      stableId: p.stableId,
      shared: p.shared,
    })),
  };
}

function credentialsOf(
  r: ResolvedRunner,
  serviceEnv: ServiceEnvNames,
): RunnerFact["credentials"] {
  // Only names that carry credentials count (a manifest may pass e.g. DENO_DIR too).
  const names = credentialNames([...r.manifest.env.pass, ...r.envPass]);
  return {
    names,
    present: names.filter((n) => (Deno.env.get(n) ?? "") !== "" || serviceEnv.names.has(n)),
    configSetsEnv: Object.keys(r.envSet).length > 0,
    source: "shell+service.env",
    serviceEnvFile: serviceEnv.file,
  };
}

/** The variable names (never values) a `service.env` file sets. */
interface ServiceEnvNames {
  file: string;
  names: Set<string>;
}

/** Reads the names `NAME=value` lines of `service.env` set (empty when there is no file). */
export async function serviceEnvNames(file: string): Promise<ServiceEnvNames> {
  const names = new Set<string>();
  const text = await Deno.readTextFile(file).catch(() => "");
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (m && m[2].replace(/^["']|["']$/g, "").trim() !== "") names.add(m[1]);
  }
  return { file, names };
}

/**
 * Replaces each runner's `present` credentials with what the running daemon reports it has
 * (`runners.available[].credentials_present` of `GET /v1/status`), when it reports them.
 */
export function credentialsFromDaemon(runners: RunnerFact[], status: StatusAnswer): RunnerFact[] {
  if (!("available" in status.runners)) return runners;
  const byName = new Map<string, string[]>();
  for (const a of status.runners.available) {
    if (a.credentials_present) byName.set(a.name, a.credentials_present);
  }
  return runners.map((r) => {
    const present = byName.get(r.name);
    if (!r.credentials || present === undefined) return r;
    return {
      ...r,
      credentials: {
        ...r.credentials,
        present: r.credentials.names.filter((n) => present.includes(n)),
        source: "daemon",
      },
    };
  });
}

async function runnerFacts(
  config: Config,
  runnersDir: string,
  serviceEnvFile: string,
): Promise<RunnerFact[]> {
  // Every service manager gives the daemon service.env (systemd EnvironmentFile, else
  // `cmesh daemon --env-file`: src/service/manager.ts).
  const serviceEnv = await serviceEnvNames(serviceEnvFile);
  let runtime;
  try {
    runtime = await resolveRunners(config, { runnersDir, pathEnv: Deno.env.get("PATH") ?? "" });
  } catch (e) {
    return [{ name: "(manifests)", available: false, problem: (e as Error).message }];
  }
  const available = await Promise.all(runtime.available.map(async (r): Promise<RunnerFact> => {
    try {
      const version = await probeVersion(r.binary, r.manifest.version_args, 10_000);
      const egress = resolvedRunnerEgress(r, Deno.env.toObject(), [
        config.daemon.control_port,
        config.daemon.worker_port,
      ]);
      return {
        name: r.name,
        available: true,
        binary: r.binary,
        version,
        credentials: credentialsOf(r, serviceEnv),
        egress: { mode: egress.mode, describe: describeEgress(egress) },
      };
    } catch (e) {
      return { name: r.name, available: true, binary: r.binary, problem: (e as Error).message };
    }
  }));
  return [
    ...available,
    ...runtime.unavailable.map((u) => ({ name: u.name, available: false, problem: u.reason })),
  ];
}

/** Inputs of {@link gatherFacts}. */
export interface GatherOptions {
  configFile: string;
}

/** Gathers every fact (independent probes run concurrently). */
export async function gatherFacts(opts: GatherOptions): Promise<SetupFacts> {
  const paths = currentPaths();
  const config = await configFacts(opts.configFile);
  const stateDir = stateDirFor(config.config);
  const env = Deno.env.toObject();
  const [state, token, { daemon, peers }, tailscale, runners, agents, service] = await Promise.all([
    stateFacts(stateDir),
    tokenFacts(stateDir),
    daemonFacts(opts.configFile, config),
    tailscaleFacts(config.config),
    runnerFacts(config.config, paths.runnersDir, join(paths.configDir, "service.env")),
    agentRegistrations(Deno.build.os, env).catch(() => []),
    serviceStatus(serviceEnvironment({ stateDir, configDir: paths.configDir }))
      .catch((e) => ({ error: (e as Error).message })),
  ]);
  const sandbox = {
    mode: effectiveSandboxMode(config.config.sandbox.mode),
    availability: await probeSandbox(),
  };
  const socat = await resolveBinary("socat", env.PATH ?? "", { runner: "socat" }).catch(() => null);
  return {
    os: Deno.build.os,
    config,
    stateDir: state,
    token,
    daemon,
    tailscale,
    runners: daemon.running ? credentialsFromDaemon(runners, daemon.status) : runners,
    agents,
    service,
    peers,
    sandbox,
    egress: { socat },
  };
}
