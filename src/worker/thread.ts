/**
 * @module
 * The permission-sandboxed worker: this module runs inside a Deno Web Worker whose
 * permissions the daemon narrowed from the config (see `daemon/worker_permissions.ts`). It
 * owns the tailnet-facing HTTP server, the run queue and runner supervision. It gets the
 * daemon's environment as data in the init message, so it needs no `env` permission, and asks
 * the main thread to resolve cwds and to identify callers (`cwd_port.ts`, `identity_port.ts`).
 *
 * At start it loads only what an idle worker needs (the store, the queue, the ports, the
 * listeners); the HTTP front (`front.ts`), the executor, recovery and the re-decision are imported
 * when first needed. `tests/worker/idle_imports_test.ts` pins that down.
 */
/// <reference lib="deno.worker" />
import type { Config } from "../config/schema.ts";
import type { RunTools } from "../runner/run.ts";
import type { ResolvedRunner } from "../runner/runtime.ts";
import type { SandboxSettings } from "../runner/sandbox/mod.ts";
import type { WarmPool } from "../runner/sandbox/warm_pool.ts";
import type { EgressInit } from "../runner/sandbox/egress/slots.ts";
import type { ExecutorDeps } from "../scheduler/executor.ts";
import { RunQueue } from "../scheduler/queue.ts";
import type { recoverInbound, RecoveryReport } from "../scheduler/recovery.ts";
import { TaskBus } from "../scheduler/task_bus.ts";
import { openStore } from "../store/db.ts";
import { hasUnfinishedTasks } from "../store/unfinished.ts";
import { lazily } from "../util/lazily.ts";
import type { TaskRecord } from "../store/tasks.ts";
import { type LogLevelName, setLogSink } from "../util/log.ts";
import { threadLogSink } from "./log_port.ts";
import { answerThroughFront } from "../util/lazy_front.ts";
import { resolvingHereFirst } from "../inbound/cwd_resolve.ts";
import { CwdPortClient, type CwdResolveRequest, isCwdResolveReply } from "./cwd_port.ts";
import { demoIdentityLookup } from "./demo_identity.ts";
import { catProcNetTcp, localUserIdentityLookup } from "./local_user_identity.ts";
import type { IdentityLookup } from "./ports.ts";
import { NodeHosts } from "./guards/node_hosts.ts";
import {
  IdentityPortClient,
  isSelfUpdate,
  isWhoisReply,
  type WhoisRequest,
} from "./identity_port.ts";
import type { SelfStatus } from "../tailscale/status.ts";

/** The init message the daemon posts. Everything is plain data. */
export interface WorkerInit {
  type: "init";
  config: Config;
  dbPath: string;
  stateDir: string;
  nodeName: string;
  /** Addresses to listen on (tailnet IPs; loopback only in userspace or demo mode). */
  bind: string[];
  port: number;
  runners: ResolvedRunner[];
  tools: RunTools;
  /** How runs are sandboxed (mode, probe result, host layout). */
  sandbox: SandboxSettings;
  /** Egress of the runs: socket slots, socat, profile caps (absent: `model` runs refused). */
  egress?: EgressInit;
  env: Record<string, string>;
  rootsReal: (string | null)[][];
  caseInsensitive: boolean;
  /** The lowest level the worker thread posts to the main thread, which writes its records. */
  logLevel: LogLevelName;
  /** Local demo: name every loopback caller this node (never from config). */
  demoCaller?: string;
  /** Local-only mode: only this uid's loopback connections, as node "local" (never from config). */
  localUser?: { uid: number; user: string; catBin: string };
  /**
   * This node as LocalAPI status saw it at start (addresses and names for the Host check); the
   * main thread posts every change (`identity.self`).
   */
  self?: SelfStatus | null;
}

/** Messages the worker posts back. */
export type WorkerReport =
  | { type: "ready"; listening: string[]; recovered: { interrupted: string[]; requeued: string[] } }
  | { type: "error"; message: string }
  | { type: "stopped" };

function post(msg: WorkerReport | CwdResolveRequest | WhoisRequest): void {
  self.postMessage(msg);
}

/**
 * cwds are resolved by the main thread, which may read the symlinks leading into the roots,
 * unless this thread can give the same answer itself (a directory it may read).
 */
const cwdPort = new CwdPortClient(post);
const resolveCwdHere = resolvingHereFirst(cwdPort.resolve);

/**
 * Callers on the tailnet are identified by the main thread, which holds the tailnet identity
 * (LocalAPI whois, its cache, the IPN bus): this thread needs no LocalAPI access.
 */
const identityPort = new IdentityPortClient(post);
/** The Host check's names; until `start` made them, the latest names the main thread sent. */
let nodeHosts: NodeHosts | null = null;
let pendingSelf: SelfStatus | null | undefined;

let stop: (() => Promise<void>) | null = null;

/**
 * The executor (and with it the runner, sandbox, egress proxy and output parsers) is imported
 * at the first run, not at start: an idle worker does not hold that code in memory.
 */
function lazyExecutor(
  deps: Omit<ExecutorDeps, "egress">,
  egress: EgressInit | undefined,
  etcMirrorDir: string,
  aheadS: number,
): { run: (id: string, signal: AbortSignal) => Promise<void>; close(): Promise<void> } {
  let pool: WarmPool | null = null;
  const load = lazily(async () => {
    const [{ executeTask }, { EgressRuntime }, { EtcMirror }, { sandboxState }, { WarmPool }] =
      await Promise.all([
        import("../scheduler/executor.ts"),
        import("../runner/sandbox/egress/run_egress.ts"),
        import("../runner/sandbox/etc_mirror.ts"),
        import("../runner/sandbox/mod.ts"),
        import("../runner/sandbox/warm_pool.ts"),
      ]);
    const bwrap = sandboxState(deps.sandbox) === "bwrap";
    const sandbox = bwrap
      ? { ...deps.sandbox, etcMirror: new EtcMirror(etcMirrorDir, deps.sandbox.host.etc) }
      : deps.sandbox;
    const full = {
      ...deps,
      sandbox,
      egress: egress ? new EgressRuntime(egress) : undefined,
      ...(bwrap && aheadS > 0
        ? { warm: pool = new WarmPool({ max: WARM_POOL_MAX, idleMs: aheadS * 1000 }) }
        : {}),
    };
    return (id: string, signal: AbortSignal) => executeTask(full, id, signal);
  });
  return {
    run: async (id, signal) => (await load())(id, signal),
    close: async () => await pool?.close(),
  };
}

/**
 * Most sandboxes kept started ahead (`runner/sandbox/warm.ts`) at once: one per decision, for a
 * few decisions (each ended after `[sandbox] start_ahead_s` if nobody took it).
 */
const WARM_POOL_MAX = 8;

/** How callers are identified, and the Host names this node answers to. */
function identityOf(init: WorkerInit): { identity: IdentityLookup; hosts: NodeHosts } {
  if (init.demoCaller) {
    return {
      identity: demoIdentityLookup(init.demoCaller),
      hosts: NodeHosts.loopback(init.port),
    };
  }
  if (init.localUser) {
    return {
      identity: localUserIdentityLookup(
        init.localUser.uid,
        init.localUser.user,
        catProcNetTcp(init.localUser.catBin),
      ),
      hosts: NodeHosts.loopback(init.port),
    };
  }
  const hosts = new NodeHosts(init.port);
  hosts.set(pendingSelf !== undefined ? pendingSelf : init.self ?? null);
  nodeHosts = hosts;
  return { identity: identityPort, hosts };
}

/** Recovers inbound tasks after an unclean stop (see `scheduler/recovery.ts`). */
async function recover(
  deps: Omit<Parameters<typeof recoverInbound>[0], "peerMaxConcurrent">,
  config: Config,
): Promise<RecoveryReport> {
  const [{ recoverInbound }, { requeuedPeerLimit }] = await Promise.all([
    import("../scheduler/recovery.ts"),
    import("./redecide.ts"),
  ]);
  return await recoverInbound({
    ...deps,
    peerMaxConcurrent: (task) => requeuedPeerLimit(config, task),
  });
}

async function start(init: WorkerInit): Promise<void> {
  // Records go to the main thread, which writes them (log_port.ts).
  setLogSink(threadLogSink(init.logLevel, (m) => self.postMessage(m)));
  const store = openStore(init.dbPath);
  const bus = new TaskBus();
  const runners = new Map(init.runners.map((r) => [r.name, r]));
  const redecide = lazily(() => import("./redecide.ts"));
  const deps = {
    store,
    bus,
    runners,
    tools: init.tools,
    env: init.env,
    runnerStateDir: (name: string) => `${init.stateDir}/runners/${name}`,
    runDir: (runToken: string) => `${init.stateDir}/runs/${runToken}`,
    sandbox: init.sandbox,
    maxOutputBytes: init.config.inbound.max_output_bytes,
    defaultTimeoutS: init.config.inbound.default_timeout_s,
    nodeName: init.nodeName,
    redecide: async (task: TaskRecord) =>
      (await redecide()).redecideAtDequeue({
        config: init.config,
        rootsReal: init.rootsReal,
        runnersAvailable: [...runners.keys()],
        caseInsensitive: init.caseInsensitive,
        resolve: resolveCwdHere,
      }, task),
  };
  // The runs' /etc (bwrap): a mirror in the state dir, made afresh at the first run.
  const executor = lazyExecutor(
    deps,
    init.egress,
    `${init.stateDir}/sandbox-etc`,
    init.config.sandbox.start_ahead_s,
  );
  const queue = new RunQueue(
    { maxConcurrent: init.config.inbound.max_concurrent },
    (task, signal) => executor.run(task.id, signal),
  );
  // Private HOME/TMPDIR dirs of runs a crash cut off (and of sandboxes started ahead): nothing
  // runs yet, so all of them are stale. A process still carrying one's token is stopped first.
  const runsDir = `${init.stateDir}/runs`;
  const stale = await Array.fromAsync(Deno.readDir(runsDir)).catch(() => []);
  if (stale.length > 0) {
    const { stopLeftovers } = await import("../scheduler/recovery.ts");
    await stopLeftovers(stale.map((e) => e.name), init.tools);
  }
  await Deno.remove(runsDir, { recursive: true }).catch(() => {});
  // Recovery (and the task modules it needs) is loaded only when there is something to recover.
  const recovered = hasUnfinishedTasks(store, "inbound")
    ? await recover({ store, bus, queue, tools: init.tools, nodeName: init.nodeName }, init.config)
    : { interrupted: [], requeued: [] };
  const { identity, hosts } = identityOf(init);
  // The HTTP front is imported at the first request (see front.ts); the listeners bind now, so a
  // port that is taken is reported at start.
  let frontAsked = false;
  const front = lazily(async () => {
    frontAsked = true;
    return (await import("./front.ts")).createFront({
      config: init.config,
      store,
      queue,
      bus,
      nodeName: init.nodeName,
      runners,
      rootsReal: init.rootsReal,
      caseInsensitive: init.caseInsensitive,
      sandbox: init.sandbox,
      resolveCwd: resolveCwdHere,
      identity,
      hosts,
      allowLoopback: init.config.tailscale.userspace_networking ||
        init.demoCaller !== undefined || init.localUser !== undefined,
      maxBodyBytes: init.config.daemon.max_body_bytes,
    });
  });
  const servers: Deno.HttpServer[] = [];
  const listening: string[] = [];
  for (const hostname of init.bind) {
    const server = Deno.serve(
      { hostname, port: init.port, onListen: () => {} },
      (req, info) => answerThroughFront(front, req, info.remoteAddr, "worker"),
    );
    servers.push(server);
    listening.push(
      hostname.includes(":") ? `[${hostname}]:${init.port}` : `${hostname}:${init.port}`,
    );
  }
  stop = async () => {
    // The front first: it ends the event streams, which the servers' shutdown would wait for.
    // Only a front that was built has anything to stop (asking would build it).
    if (frontAsked) (await front().catch(() => null))?.stop();
    await Promise.allSettled(servers.map((s) => s.shutdown()));
    await queue.close("shutdown");
    await executor.close();
    store.close();
  };
  post({
    type: "ready",
    listening,
    recovered: { interrupted: recovered.interrupted, requeued: recovered.requeued },
  });
}

self.onmessage = async (e: MessageEvent<unknown>) => {
  const msg = e.data;
  if (isCwdResolveReply(msg)) return cwdPort.deliver(msg);
  if (isWhoisReply(msg)) return identityPort.deliver(msg);
  if (isSelfUpdate(msg)) {
    if (nodeHosts) nodeHosts.set(msg.self);
    else pendingSelf = msg.self;
    return;
  }
  const m = msg as WorkerInit | { type: "shutdown" };
  try {
    if (m.type === "init") await start(m);
    else if (m.type === "shutdown") {
      await stop?.();
      post({ type: "stopped" });
    }
  } catch (err) {
    post({
      type: "error",
      message: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
  }
};
