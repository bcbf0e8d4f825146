/**
 * @module
 * `cmesh daemon`: one process per machine. Its main thread holds the state-dir lock, the
 * loopback control API and the outbound (requester) flow; the tailnet-facing worker runs in a
 * permission-narrowed Web Worker. SIGINT/SIGTERM stop it cleanly.
 */
import { type SandboxSettings, sandboxSummary } from "../runner/sandbox/mod.ts";
import type { RunnerRuntime } from "../runner/runtime.ts";
import { join } from "node:path";
import { loadConfig } from "../config/load.ts";
import { currentPaths, stateDirFor } from "../config/paths.ts";
import { controlTokenPath, rotateControlToken } from "../control/token.ts";
import { tailnetSources } from "../delegation/tailnet_sources.ts";
import { appendAudit } from "../store/audit.ts";
import { openStore } from "../store/db.ts";
import { IpnBusWatcher } from "../tailscale/ipn_bus.ts";
import { LocalApiClient } from "../tailscale/localapi.ts";
import { defaultLogOptions, logger } from "../util/log.ts";
import { setupLogging } from "../util/log_setup.ts";
import { VERSION } from "../version.ts";
import { acquireDaemonLock } from "./lock.ts";
import { hasUnfinishedTasks } from "../store/unfinished.ts";
import { lazily } from "../util/lazily.ts";
import { answerThroughFront } from "../util/lazy_front.ts";
import type { ControlSide } from "./control_side.ts";
import { type RunningWorker, startWorker, type WorkerIdentity } from "./start_worker.ts";
import { SelfRelay } from "../worker/identity_port.ts";
import { TailnetIdentity } from "../worker/tailnet_identity.ts";
import { bindAddresses, prepareWorker, resolveLocalApi } from "./worker_setup.ts";

/** Options of {@link runDaemon}. */
export interface DaemonOptions {
  configFile: string;
  /** Local demo only: loopback callers are named this (never reachable from config). */
  insecureLocalDemo?: string;
  /**
   * Local-only mode (`cmesh daemon --local-only`, never from config): no tailnet; the worker
   * listens on 127.0.0.1 and accepts only connections of this uid, as node "local".
   */
  localOnly?: { uid: number; user: string };
  /** Resolves when the daemon should stop (tests); default: SIGINT/SIGTERM. */
  until?: Promise<void>;
}

const log = (msg: string) => logger("daemon").info(msg);
const logError = (msg: string) => logger("daemon").error(msg);

/** Runs the daemon until a stop signal. Returns the exit code. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const { config } = await loadConfig(opts.configFile);
  const logOptions = defaultLogOptions(config.daemon.log_level, {
    NO_COLOR: Deno.env.get("NO_COLOR"),
  });
  setupLogging(logOptions);
  const paths = currentPaths();
  const stateDir = stateDirFor(config);
  const demo = opts.insecureLocalDemo !== undefined;
  const localOnly = opts.localOnly;
  // Neither mode asks tailscaled anything: both serve loopback only.
  const noTailnet = demo || localOnly !== undefined;
  const lock = await acquireDaemonLock(stateDir);
  const dbPath = join(stateDir, "cmesh.db");
  const store = openStore(dbPath);
  // A new token at every start (see control/token.ts), under the lock: one daemon per state dir.
  const token = await rotateControlToken(stateDir);
  const localApi = noTailnet ? null : LocalApiClient.fromConfig(
    (await resolveLocalApi(config.tailscale, false)).tailscale,
  );
  const tailnet = tailnetSources(localApi);
  const initial = tailnet.status ? await tailnet.status() : null;
  const nodeName = config.node.name ?? (initial?.ok ? initial.status.self?.name : undefined) ??
    Deno.hostname();
  if (demo) {
    log(
      `LOCAL DEMO MODE: loopback callers are treated as "${opts.insecureLocalDemo}"; never use this outside 'cmesh demo'`,
    );
  }
  if (localOnly) {
    log(
      `LOCAL-ONLY MODE: no tailnet; the worker listens on 127.0.0.1 only and accepts only connections of this user (${localOnly.user}, uid ${localOnly.uid}) on this machine, as node "local"`,
    );
  }

  let worker: RunningWorker | null = null;
  let identity: TailnetIdentity | null = null;
  let workerSetup: { runtime: RunnerRuntime; sandbox: SandboxSettings } | null = null;
  const cleanup = async () => {
    await identity?.stop();
    store.close();
    lock.release();
  };
  if (config.inbound.enabled) {
    const bind = bindAddresses(config, initial?.ok ? initial.status : null, noTailnet);
    if (!bind.ok) {
      const why = initial && !initial.ok ? initial.reason : bind.reason;
      logError(
        `cannot start the worker: ${why}. Inbound tasks need tailscaled (fail closed); set inbound.enabled = false to run as a requester only`,
      );
      await cleanup();
      return 1;
    }
    const setup = await prepareWorker({
      config,
      bind: bind.bind,
      stateDir,
      dbPath,
      runnersDir: paths.runnersDir,
      nodeName,
      demoCaller: opts.insecureLocalDemo,
      localUser: localOnly,
      logLevel: logOptions.level,
    });
    workerSetup = { runtime: setup.runtime, sandbox: setup.init.sandbox };
    // On the tailnet, callers are identified here (the worker thread asks through its port), with
    // tailscaled's IPN bus followed from before the worker listens.
    let workerIdentity: WorkerIdentity | undefined;
    if (localApi) {
      const self = initial?.ok ? initial.status.self ?? null : null;
      const relay = new SelfRelay(self);
      identity = new TailnetIdentity(config.tailscale, { self }, relay, { client: localApi });
      // Waits for the IPN bus's first message (bounded by its connect timeout).
      await identity.start();
      workerIdentity = { lookup: identity.lookup, relay };
    }
    try {
      worker = await startWorker(setup.init, setup.permissions, { identity: workerIdentity });
    } catch (e) {
      logError(`cannot start the worker: ${(e as Error).message}`);
      await cleanup();
      return 1;
    }
    log(
      `worker listening on ${worker.listening.join(", ")} (runs sandboxed: ${
        sandboxSummary(setup.init.sandbox).state
      }; runners: ${setup.runtime.available.map((r) => r.name).join(", ") || "none"})`,
    );
    if (worker.recovered.interrupted.length) {
      log(
        `marked ${worker.recovered.interrupted.length} task(s) interrupted after an unclean stop`,
      );
    }
  }

  // The requester side (the outbound flow and the control API's routes) is built at the first
  // control request, or now when an outbound task is still being followed (control_side.ts).
  let side: ControlSide | null = null;
  let busUp = false;
  const controlSide = lazily(async () => {
    const { buildControlSide } = await import("./control_side.ts");
    side = buildControlSide({
      config,
      configFile: opts.configFile,
      store,
      stateDir,
      node: nodeName,
      token,
      demo,
      localOnly: localOnly !== undefined,
      tailnet,
      worker: worker && workerSetup
        ? {
          listening: worker.listening,
          runtime: workerSetup.runtime,
          sandbox: workerSetup.sandbox,
        }
        : null,
      onPinned: (name, target) =>
        log(`pinned outbound peer ${name} to node ${target.stableId} (first contact)`),
    });
    side.peers.setCaching(busUp);
    return side;
  });
  // Resolutions are reused only while tailscaled's IPN bus says when the netmap changed: the one
  // bus connection of the tailnet identity when this node serves, or one of their own.
  const follower = {
    onChange: () => side?.peers.forget(),
    onConnected: (up: boolean) => {
      busUp = up;
      side?.peers.setCaching(up);
    },
  };
  const busSource = identity ? null : localApi?.busSource() ?? null;
  const peerBus = busSource ? new IpnBusWatcher(busSource, follower) : null;
  identity?.follow(follower);
  peerBus?.start().catch(() => {});

  let server: Deno.HttpServer;
  try {
    server = Deno.serve(
      { hostname: "127.0.0.1", port: config.daemon.control_port, onListen: () => {} },
      (req, info) => answerThroughFront(controlSide, req, info.remoteAddr, "control"),
    );
  } catch (e) {
    logError(`cannot listen on 127.0.0.1:${config.daemon.control_port}: ${(e as Error).message}`);
    await worker?.stop();
    await cleanup();
    return 1;
  }
  appendAudit(store, {
    kind: "daemon.start",
    actor: { node: nodeName },
    data: { version: VERSION, pid: Deno.pid, demo, worker: worker?.listening ?? [] },
  });
  if (hasUnfinishedTasks(store, "outbound")) {
    const resumed = await (await controlSide()).requester.resumeAll();
    if (resumed) log(`following ${resumed} outbound task(s) again`);
  }
  log(
    `control API on 127.0.0.1:${config.daemon.control_port} (token in ${
      controlTokenPath(stateDir)
    })`,
  );
  console.log(
    JSON.stringify({
      ready: true,
      node: nodeName,
      control: `127.0.0.1:${config.daemon.control_port}`,
      worker: worker?.listening ?? [],
    }),
  );

  const stop = opts.until ?? new Promise<void>((resolve) => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => resolve());
  });
  await stop;
  log("stopping");
  (side as ControlSide | null)?.requester.close();
  await peerBus?.stop();
  await server.shutdown().catch(() => {});
  await worker?.stop();
  appendAudit(store, { kind: "daemon.stop", actor: { node: nodeName }, data: { pid: Deno.pid } });
  await cleanup();
  return 0;
}
