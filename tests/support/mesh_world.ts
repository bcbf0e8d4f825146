/**
 * @module
 * Test and bench support: a worker daemon and (optionally) a requester daemon on one machine,
 * with custom runners, in one of two shapes:
 *
 * - `netns` (root + iproute2): the worker in namespace `w` at `100.64.0.1` with a LocalAPI
 *   double answering whois, and one namespace per requester (`100.64.0.2`, `.3`, ...), each a
 *   tailnet node the worker's inbound rule allows. The requester daemon runs in the first
 *   requester's namespace, so its traffic to the worker is real kernel traffic between
 *   namespaces and the worker's source check and whois run as in production. The requester has
 *   its own LocalAPI double too, which whois-confirms the worker before each task is sent.
 * - `loopback`: both daemons on 127.0.0.1; the worker runs in the local-demo identity mode
 *   (`--insecure-local-demo`), which names every loopback caller after the one requester.
 *
 * Only addresses inside namespaces this module created, or loopback, ever receive traffic.
 *
 * @example
 * ```ts
 * import { createMesh, shRunner } from "./mesh_world.ts";
 * const mesh = await createMesh({ runners: { sh: shRunner() } });
 * try {
 *   const r = await fetch(`${mesh.requesterControlUrl}/v1/status`); // (with the token)
 * } finally {
 *   await mesh.destroy();
 * }
 * ```
 */
import { join } from "node:path";
import {
  type ConfigInput,
  controlToken,
  createNode,
  type DaemonProcess,
  freePort,
  makeRepo,
  Teardown,
} from "./daemon.ts";
import { createTopology, nsWrap, systemTestSkipReason, type Topology } from "./netns.ts";
import { type NsLocalApiDouble, startNsLocalApiDouble } from "../system/ns_localapi_double.ts";

/** Where the daemons run. */
export type MeshMode = "netns" | "loopback";

/** What to build. */
export interface MeshSpec {
  /** `auto` (default): netns when root with iproute2, else loopback. */
  mode?: "auto" | MeshMode;
  /** Custom runner manifests of the worker: name → TOML text (see {@link shRunner}). */
  runners: Record<string, string>;
  /** The worker's `[inbound]` limits. */
  inbound?: {
    max_concurrent?: number;
    max_queue?: number;
    max_output_bytes?: number;
    default_timeout_s?: number;
  };
  /** Per-rule (per-requester) limits of the inbound rule. */
  rule?: { max_concurrent?: number; max_queue?: number };
  /** Requester node names; netns: one namespace each (at most 8); loopback: one. */
  requesters?: string[];
  /** Start a requester daemon for the first requester (default true). */
  requesterDaemon?: boolean;
  /** Extra environment of both daemons (e.g. `DENO_V8_FLAGS`). */
  daemonEnv?: Record<string, string>;
  /** The worker's `[sandbox]` section (default: none, the defaults). */
  sandbox?: { start_ahead_s?: number };
  /** The worker's `daemon.state_dir` (default `<worker home>/state`). */
  workerStateDir?: string;
  /** Argv prefix for the worker daemon, outside the namespace wrap (e.g. `nsenter -t P -m`). */
  workerWrap?: string[];
}

/** A running mesh. */
export interface MeshWorld {
  mode: MeshMode;
  base: string;
  /** The allowed cwd root (realpath). */
  root: string;
  /** A plain directory (not a git work tree) inside the root. */
  plain: string;
  /** A git repository inside the root. */
  repo: string;
  workerHome: string;
  workerDb: string;
  requesterHome: string;
  requesterDb: string;
  /** Worker API base URL as the requesters see it. */
  workerUrl: string;
  /** Requester control API base URL (inside the first requester's namespace). */
  requesterControlUrl: string;
  /** The name the requester uses for the worker in `outbound.peers`. */
  peerName: string;
  requesters: string[];
  worker: DaemonProcess | null;
  requester: DaemonProcess | null;
  topo: Topology | null;
  double: NsLocalApiDouble | null;
  /** Argv prefix that runs a command where requester `name` lives (`[]` on loopback). */
  wrap(name?: string): string[];
  /** Argv prefix that runs a command next to the worker (`[]` on loopback). */
  wrapWorker(): string[];
  startWorker(): Promise<DaemonProcess>;
  stopWorker(kill9?: boolean): Promise<void>;
  startRequester(): Promise<DaemonProcess>;
  stopRequester(kill9?: boolean): Promise<void>;
  /** Stops everything and removes namespaces and files. Safe to call twice. */
  destroy(): Promise<void>;
}

/** The worker's tailnet address in netns mode. */
export const MESH_WORKER_IP = "100.64.0.1";

/** Tailnet address of the i-th requester (0-based) in netns mode. */
export function requesterIp(i: number): string {
  return `100.64.0.${i + 2}`;
}

/**
 * A runner that runs the prompt as a `/bin/sh -c` script, text output: cheap, scriptable
 * (`sleep 600`, `setsid sleep 300 &`, `yes | head -c 200M`), no Deno start-up per task.
 */
export function shRunner(
  name = "sh",
  graceMs = 300,
  profiles: readonly string[] = ["query"],
): string {
  return `name = "${name}"
description = "tests: the prompt is a /bin/sh script"
binary = "/bin/sh"
base_args = ["-c"]
prompt = { via = "arg", end_of_options = false }
output = "text"
cancel = { signals = ["SIGTERM", "SIGKILL"], grace_ms = ${graceMs} }
${profiles.map((p) => `[profiles.${p}]\nargs = []`).join("\n")}
`;
}

/**
 * The zero-work runner: `/bin/echo <prompt>`, text output. It starts, prints one line and
 * exits, so a task's time is cmesh's own cost plus one fork/exec of a coreutils binary.
 */
export function echoRunner(name = "zero"): string {
  return `name = "${name}"
description = "zero work: /bin/echo the prompt"
binary = "/bin/echo"
prompt = { via = "arg", end_of_options = false }
output = "text"
cancel = { signals = ["SIGTERM", "SIGKILL"], grace_ms = 200 }
[profiles.query]
args = []
`;
}

function resolveMode(mode: MeshSpec["mode"]): MeshMode {
  if (mode === "netns" || mode === "loopback") return mode;
  return systemTestSkipReason() === null ? "netns" : "loopback";
}

function workerConfig(
  spec: MeshSpec,
  w: { port: number; control: number; socket: string | null; root: string; requesters: string[] },
): ConfigInput {
  const names = Object.keys(spec.runners);
  return {
    node: { name: "worker" },
    daemon: {
      worker_port: w.port,
      control_port: w.control,
      log_level: "warning",
      state_dir: spec.workerStateDir,
    },
    ...(w.socket ? { tailscale: { socket: w.socket, timeout_ms: 2000 } } : {}),
    ...(spec.sandbox ? { sandbox: spec.sandbox } : {}),
    inbound: {
      enabled: true,
      ...spec.inbound,
      allow: [{
        peers: w.requesters,
        profiles: ["query"],
        cwd: [w.root],
        runners: names,
        ...spec.rule,
      }],
    },
    runners: Object.fromEntries(names.map((n) => [n, { enabled: true }])),
  };
}

function requesterConfig(r: {
  name: string;
  control: number;
  workerHost: string;
  workerPort: number;
  socket: string;
  root: string;
}): ConfigInput {
  return {
    node: { name: r.name },
    daemon: { control_port: r.control, worker_port: freePort(), log_level: "warning" },
    tailscale: { socket: r.socket },
    inbound: { enabled: false },
    outbound: {
      peers: [{
        name: "worker",
        address: r.workerHost,
        port: r.workerPort,
        profiles: ["query"],
        cwd: [r.root, r.root + "/**"],
      }],
    },
  };
}

/**
 * A worker daemon alone on loopback with the `sh` runner ({@link shRunner}), for the tests that
 * call the worker's API themselves; `spec` adds to it or overrides it.
 */
export function createShWorker(spec: Partial<MeshSpec> = {}): Promise<MeshWorld> {
  return createMesh({
    mode: "loopback",
    runners: { sh: shRunner() },
    requesterDaemon: false,
    ...spec,
  });
}

/** Builds and starts a mesh. On failure, whatever was built is torn down again. */
export async function createMesh(spec: MeshSpec): Promise<MeshWorld> {
  const mode = resolveMode(spec.mode);
  const requesters = spec.requesters ?? ["laptop"];
  if (mode === "loopback" && requesters.length !== 1) {
    throw new Error("a loopback mesh has exactly one requester identity");
  }
  if (requesters.length > 8) throw new Error("at most 8 requesters");
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmesh-mesh-" }));
  const root = join(base, "root");
  const plain = join(root, "plain");
  const repo = join(root, "repo");
  await Deno.mkdir(plain, { recursive: true });
  await makeRepo(repo);
  const netns = mode === "netns";
  const ports = netns
    ? { worker: 7433, workerControl: 7434, requesterControl: 7434 }
    : { worker: freePort(), workerControl: freePort(), requesterControl: freePort() };
  const socket = netns ? join(base, "ts", "tailscaled.sock") : null;
  const workerHost = netns ? MESH_WORKER_IP : "127.0.0.1";

  const teardown = new Teardown();
  teardown.add(base, (b) => Deno.remove(b, { recursive: true }));
  let topo: Topology | null = null;
  const nsOf = (role: string) => topo!.ns[role];
  const roleOf = (name: string) => `r${"abcdefgh"[requesters.indexOf(name)]}`;
  const wrap = (name = requesters[0]) => {
    if (!requesters.includes(name)) throw new Error(`no requester ${name}`);
    return netns ? nsWrap(nsOf(roleOf(name))) : [];
  };
  const wrapWorker = () => netns ? nsWrap(nsOf("w")) : [];
  const worker = await createNode(join(base, "worker"), {
    // Resolved when the daemon starts: the namespaces exist only then.
    get wrap() {
      return [...(spec.workerWrap ?? []), ...wrapWorker()];
    },
    env: spec.daemonEnv,
    ...(netns ? {} : { demoCaller: requesters[0] }),
    runners: spec.runners,
    config: workerConfig(spec, {
      port: ports.worker,
      control: ports.workerControl,
      socket,
      root,
      requesters,
    }),
  });
  const requester = await createNode(join(base, "requester"), {
    get wrap() {
      return wrap();
    },
    env: spec.daemonEnv,
    config: requesterConfig({
      name: requesters[0],
      control: ports.requesterControl,
      workerHost,
      workerPort: ports.worker,
      // netns: the requester's own tailscaled stand-in, which whois-confirms the worker.
      socket: netns ? join(base, "ts-r", "tailscaled.sock") : join(base, "no-tailscaled.sock"),
      root,
    }),
  });
  const world: MeshWorld = {
    mode,
    base,
    root,
    plain,
    repo,
    workerHome: worker.home,
    workerDb: worker.dbPath,
    requesterHome: requester.home,
    requesterDb: requester.dbPath,
    workerUrl: `http://${workerHost}:${ports.worker}`,
    requesterControlUrl: `http://127.0.0.1:${ports.requesterControl}`,
    peerName: "worker",
    requesters,
    get worker() {
      return worker.daemon;
    },
    get requester() {
      return requester.daemon;
    },
    topo: null,
    double: null,
    wrap,
    wrapWorker,
    startWorker: () => worker.start(),
    stopWorker: (kill9) => worker.stop(kill9),
    startRequester: () => requester.start(),
    stopRequester: (kill9) => requester.stop(kill9),
    destroy: () => teardown.run(),
  };
  try {
    if (netns) {
      const namespaces: Record<string, string[]> = { w: [`${MESH_WORKER_IP}/10`] };
      requesters.forEach((name, i) => namespaces[roleOf(name)] = [`${requesterIp(i)}/10`]);
      topo = teardown.add(await createTopology({ bridgeNs: "w", namespaces }), (t) => t.destroy());
      world.topo = topo;
      await Deno.mkdir(join(base, "ts"));
      world.double = teardown.add(
        await startNsLocalApiDouble(topo.ns.w, socket!, {
          self: { name: "worker", ips: [MESH_WORKER_IP], tags: ["tag:worker"] },
          nodes: requesters.map((name, i) => ({
            name,
            ips: [requesterIp(i)],
            login: `${name}@example.com`,
          })),
        }, join(base, "ts", "double.json")),
        (d) => d.close(),
      );
      await Deno.mkdir(join(base, "ts-r"));
      teardown.add(
        await startNsLocalApiDouble(
          topo.ns[roleOf(requesters[0])],
          join(base, "ts-r", "tailscaled.sock"),
          {
            self: {
              name: requesters[0],
              ips: [requesterIp(0)],
              login: `${requesters[0]}@example.com`,
            },
            nodes: [{ name: "worker", ips: [MESH_WORKER_IP], tags: ["tag:worker"] }],
          },
          join(base, "ts-r", "double.json"),
        ),
        (d) => d.close(),
      );
    }
    // Added last, so they stop first.
    teardown.add(worker, (n) => n.stop());
    teardown.add(requester, (n) => n.stop());
    await world.startWorker();
    if (spec.requesterDaemon ?? true) await world.startRequester();
  } catch (e) {
    await world.destroy();
    throw e;
  }
  return world;
}

export { controlToken };
