/**
 * @module
 * Everything the daemon resolves in its main thread before the sandboxed worker starts:
 * bind addresses, runners, tools, cwd roots, the env snapshot, and the permission set.
 */
import type { Config } from "../config/schema.ts";
import { BASE_ENV_ALLOWLIST, WINDOWS_BASE_ENV_ALLOWLIST } from "../runner/env.ts";
import { resolveBinary } from "../runner/probe.ts";
import { resolveProcessTools } from "../runner/process_list.ts";
import type { RunTools } from "../runner/run.ts";
import { resolveRunners, type RunnerRuntime } from "../runner/runtime.ts";
import { probeSandbox } from "../runner/sandbox/availability.ts";
import { hostLayout, installPathsOf } from "../runner/sandbox/host.ts";
import { effectiveSandboxMode, type SandboxSettings, sandboxState } from "../runner/sandbox/mod.ts";
import { egressInit } from "../runner/sandbox/egress/slots.ts";
import { isTailnetIp } from "../tailscale/addr.ts";
import { WINDOWS_TAILSCALE_CLI } from "../tailscale/cli_transport.ts";
import { discoverMacGuiEndpoint, realMacDiscoveryDeps } from "../tailscale/macos.ts";
import { DEFAULT_LINUX_SOCKET, defaultSocketPath } from "../tailscale/transport.ts";
import type { TailnetStatus } from "../tailscale/status.ts";
import type { LogLevelName } from "../util/log.ts";
import { resolveInboundRoots } from "../inbound/decide.ts";
import type { WorkerInit } from "../worker/thread.ts";
import { type WorkerPermissions, workerPermissions } from "./worker_permissions.ts";
import { pathExists } from "../util/path_exists.ts";

/** How the daemon reaches the LocalAPI (none in the local demo). */
export type LocalApiAccess =
  | { transport: "unix"; path: string }
  | { transport: "tcp"; host: string; port: number }
  | { transport: "cli"; binary: string }
  | { transport: "none" };

/** Where the worker listens: tailnet addresses only, loopback only in userspace/demo mode. */
export function bindAddresses(
  config: Config,
  status: TailnetStatus | null,
  demo: boolean,
): { ok: true; bind: string[] } | { ok: false; reason: string } {
  if (demo || config.tailscale.userspace_networking) return { ok: true, bind: ["127.0.0.1"] };
  if (!status?.self) {
    return { ok: false, reason: "tailscaled reports no self node (logged out or stopped?)" };
  }
  const bind = status.self.addresses.filter(isTailnetIp);
  if (bind.length === 0) {
    return { ok: false, reason: "this node has no tailnet address yet (is Tailscale up?)" };
  }
  return { ok: true, bind };
}

/**
 * Pins down where the daemon reaches the LocalAPI (only its main thread does: the worker thread
 * asks it who is calling). Returns how, and the `[tailscale]` section to use, with any
 * discovered endpoint made explicit (macOS GUI variants: loopback port + token; the `tailscale`
 * CLI's absolute path).
 *
 * @throws {TypeError} when the CLI transport is chosen and no `tailscale` CLI can be found.
 */
export async function resolveLocalApi(
  ts: Config["tailscale"],
  demo: boolean,
  os: typeof Deno.build.os = Deno.build.os,
): Promise<{ access: LocalApiAccess; tailscale: Config["tailscale"] }> {
  if (demo) return { access: { transport: "none" }, tailscale: ts };
  const useCli = ts.transport === "cli" ||
    (ts.transport === "auto" && os === "windows" && !ts.localapi_url && !ts.socket);
  if (useCli) {
    const binary = ts.cli_path ??
      (os === "windows" ? WINDOWS_TAILSCALE_CLI : await resolveBinary(
        "tailscale",
        Deno.env.get("PATH") ?? "",
        { runner: "tailscale" },
      ).catch(() => undefined));
    if (binary === undefined) {
      throw new TypeError(
        `tailscale.transport = "cli" but no tailscale CLI was found on PATH; set tailscale.cli_path in config.toml`,
      );
    }
    return {
      access: { transport: "cli", binary },
      tailscale: { ...ts, transport: "cli", cli_path: binary },
    };
  }
  if (ts.localapi_url) {
    const u = new URL(ts.localapi_url);
    return {
      access: { transport: "tcp", host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port) },
      tailscale: ts,
    };
  }
  const socket = ts.socket ?? defaultSocketPath(os) ?? DEFAULT_LINUX_SOCKET;
  if (os === "darwin" && !ts.socket && !(await pathExists(socket))) {
    const found = await discoverMacGuiEndpoint(realMacDiscoveryDeps);
    if (found.ok) {
      const { hostname, port, token } = found.endpoint;
      return {
        access: { transport: "tcp", host: hostname, port },
        tailscale: { ...ts, localapi_url: `http://${hostname}:${port}`, localapi_token: token },
      };
    }
  }
  return { access: { transport: "unix", path: socket }, tailscale: { ...ts, socket } };
}

/** The node's sandbox settings: the effective mode, what the probe found, the host layout. */
export async function resolveSandbox(config: Config): Promise<SandboxSettings> {
  const mode = effectiveSandboxMode(config.sandbox.mode);
  const availability = await probeSandbox();
  const host = Deno.build.os === "windows"
    ? { system: [], etc: [], unshareUser: false }
    : await hostLayout();
  return { mode, availability, host };
}

/** The worker's init message and permissions, plus what `status` reports about runners. */
export interface WorkerSetup {
  init: WorkerInit;
  permissions: WorkerPermissions;
  runtime: RunnerRuntime;
}

/** Resolves runners, tools, roots and env, and computes the worker's permissions. */
export async function prepareWorker(args: {
  config: Config;
  bind: string[];
  stateDir: string;
  dbPath: string;
  runnersDir: string;
  nodeName: string;
  demoCaller?: string;
  /** Local-only mode: the daemon's own user (the only caller accepted). */
  localUser?: { uid: number; user: string };
  logLevel: LogLevelName;
}): Promise<WorkerSetup> {
  const { config } = args;
  const env = Deno.env.toObject();
  const runtime = await resolveRunners(config, {
    runnersDir: args.runnersDir,
    pathEnv: env.PATH ?? "",
  });
  const sandbox = await resolveSandbox(config);
  for (const r of runtime.available) {
    r.install = await installPathsOf(r.binary, env.PATH ?? "", sandbox.host, [
      ...r.manifest.base_args,
      ...r.args,
    ]);
  }
  const processTools = resolveProcessTools();
  const gitBin = await resolveBinary("git", env.PATH ?? "", { runner: "git" }).catch(() => null);
  const tools: RunTools = { ...processTools, gitBin };
  const { rootsReal, caseInsensitive } = await resolveInboundRoots(config);
  // Only the variables a runner could receive cross into the worker.
  const wanted = new Set([
    ...BASE_ENV_ALLOWLIST,
    ...(Deno.build.os === "windows" ? WINDOWS_BASE_ENV_ALLOWLIST : []),
    ...runtime.available.flatMap((r) => [...r.manifest.env.pass, ...r.envPass]),
  ]);
  const envSnapshot = Object.fromEntries(Object.entries(env).filter(([k]) => wanted.has(k)));
  // Local-only mode reads /proc/net/tcp through cat (see worker/local_user_identity.ts).
  const catBin = args.localUser
    ? await resolveBinary("cat", env.PATH || "/usr/bin:/bin", { runner: "cat" })
    : undefined;
  const egress = egressInit({
    stateDir: args.stateDir,
    maxConcurrent: config.inbound.max_concurrent,
    runners: runtime.available,
    env: envSnapshot,
    daemonPorts: [config.daemon.control_port, config.daemon.worker_port],
    profileCaps: Object.fromEntries(
      Object.entries(config.profiles).map(([name, p]) => [name, p.egress]),
    ),
    socat: await resolveBinary("socat", env.PATH ?? "", { runner: "socat" }).catch(() => null),
  });
  const permissions = workerPermissions({
    bind: args.bind,
    port: config.daemon.worker_port,
    stateDir: args.stateDir,
    roots: [...new Set(rootsReal.flat().filter((r): r is string => r !== null))],
    runBinaries: runtime.available.map((r) => r.binary),
    tools,
    catBin,
    sandboxBin: sandbox.mode === "required" && sandbox.availability.ok
      ? sandbox.availability.bin
      : null,
    etcEntries: sandboxState(sandbox) === "bwrap" ? sandbox.host.etc : [],
    egressNet: egress.net,
  });
  return {
    runtime,
    permissions,
    init: {
      type: "init",
      config,
      dbPath: args.dbPath,
      stateDir: args.stateDir,
      nodeName: args.nodeName,
      bind: args.bind,
      port: config.daemon.worker_port,
      runners: runtime.available,
      tools,
      sandbox,
      egress: egress.init,
      env: envSnapshot,
      rootsReal,
      caseInsensitive,
      logLevel: args.logLevel,
      ...(args.demoCaller ? { demoCaller: args.demoCaller } : {}),
      ...(args.localUser && catBin ? { localUser: { ...args.localUser, catBin } } : {}),
    },
  };
}
