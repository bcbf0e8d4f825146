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
import { type DaemonProcess, freePort, makeRepo, startDaemon } from "./daemon.ts";
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
  /** Extra `[daemon]` lines for the worker (e.g. `max_body_bytes = 4096`). */
  workerDaemonToml?: string;
  /** Extra environment of both daemons (e.g. `DENO_V8_FLAGS`). */
  daemonEnv?: Record<string, string>;
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
export function shRunner(name = "sh", graceMs = 300): string {
  return `name = "${name}"
description = "tests: the prompt is a /bin/sh script"
binary = "/bin/sh"
base_args = ["-c"]
prompt = { via = "arg", end_of_options = false }
output = "text"
cancel = { signals = ["SIGTERM", "SIGKILL"], grace_ms = ${graceMs} }
[profiles.query]
args = []
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

function workerToml(
  spec: MeshSpec,
  w: { port: number; control: number; socket: string | null; root: string; requesters: string[] },
): string {
  const q = JSON.stringify;
  const inbound = Object.entries(spec.inbound ?? {}).map(([k, v]) => `${k} = ${v}`).join("\n");
  const rule = Object.entries(spec.rule ?? {}).map(([k, v]) => `${k} = ${v}`).join("\n");
  const names = Object.keys(spec.runners);
  return `# written by tests/support/mesh_world.ts
[node]
name = "worker"
[daemon]
worker_port = ${w.port}
control_port = ${w.control}
log_level = "warning"
${spec.workerStateDir ? `state_dir = ${q(spec.workerStateDir)}` : ""}
${spec.workerDaemonToml ?? ""}
${w.socket ? `[tailscale]\nsocket = ${q(w.socket)}\ntimeout_ms = 2000\n` : ""}
[inbound]
enabled = true
${inbound}
[[inbound.allow]]
peers = ${q(w.requesters)}
profiles = ["query"]
cwd = [${q(w.root)}]
runners = ${q(names)}
${rule}
${names.map((n) => `[runners.${n}]\nenabled = true`).join("\n")}
`;
}

function requesterToml(
  r: {
    name: string;
    control: number;
    workerHost: string;
    workerPort: number;
    base: string;
    socket: string | null;
  },
  root: string,
): string {
  const q = JSON.stringify;
  return `# written by tests/support/mesh_world.ts
[node]
name = ${q(r.name)}
[daemon]
control_port = ${r.control}
worker_port = ${freePort()}
log_level = "warning"
[tailscale]
socket = ${q(r.socket ?? join(r.base, "no-tailscaled.sock"))}
[inbound]
enabled = false
[[outbound.peers]]
name = "worker"
address = ${q(r.workerHost)}
port = ${r.workerPort}
profiles = ["query"]
cwd = [${q(root)}, ${q(root + "/**")}]
`;
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
  const workerHome = join(base, "worker");
  const requesterHome = join(base, "requester");
  const root = join(base, "root");
  const plain = join(root, "plain");
  const repo = join(root, "repo");
  for (const d of [join(workerHome, "runners"), requesterHome, plain]) {
    await Deno.mkdir(d, { recursive: true });
  }
  await makeRepo(repo);
  for (const [name, toml] of Object.entries(spec.runners)) {
    await Deno.writeTextFile(join(workerHome, "runners", `${name}.toml`), toml);
  }
  const netns = mode === "netns";
  const ports = netns
    ? { worker: 7433, workerControl: 7434, requesterControl: 7434 }
    : { worker: freePort(), workerControl: freePort(), requesterControl: freePort() };
  const socket = netns ? join(base, "ts", "tailscaled.sock") : null;
  const workerHost = netns ? MESH_WORKER_IP : "127.0.0.1";
  await Deno.writeTextFile(
    join(workerHome, "config.toml"),
    workerToml(spec, {
      port: ports.worker,
      control: ports.workerControl,
      socket,
      root,
      requesters,
    }),
  );
  await Deno.writeTextFile(
    join(requesterHome, "config.toml"),
    requesterToml({
      name: requesters[0],
      control: ports.requesterControl,
      workerHost,
      workerPort: ports.worker,
      base,
      // netns: the requester's own tailscaled stand-in, which whois-confirms the worker.
      socket: netns ? join(base, "ts-r", "tailscaled.sock") : null,
    }, root),
  );

  let topo: Topology | null = null;
  let double: NsLocalApiDouble | null = null;
  let requesterDouble: NsLocalApiDouble | null = null;
  const nsOf = (role: string) => topo!.ns[role];
  const roleOf = (name: string) => `r${"abcdefgh"[requesters.indexOf(name)]}`;
  const world: MeshWorld = {
    mode,
    base,
    root,
    plain,
    repo,
    workerHome,
    workerDb: join(spec.workerStateDir ?? join(workerHome, "state"), "cmesh.db"),
    requesterHome,
    requesterDb: join(requesterHome, "state", "cmesh.db"),
    workerUrl: `http://${workerHost}:${ports.worker}`,
    requesterControlUrl: `http://127.0.0.1:${ports.requesterControl}`,
    peerName: "worker",
    requesters,
    worker: null,
    requester: null,
    topo: null,
    double: null,
    wrap(name = requesters[0]) {
      if (!requesters.includes(name)) throw new Error(`no requester ${name}`);
      return netns ? nsWrap(nsOf(roleOf(name))) : [];
    },
    wrapWorker() {
      return netns ? nsWrap(nsOf("w")) : [];
    },
    async startWorker() {
      if (world.worker) throw new Error("the worker already runs");
      world.worker = await startDaemon(workerHome, {
        wrap: [...(spec.workerWrap ?? []), ...world.wrapWorker()],
        env: spec.daemonEnv,
        ...(netns ? {} : { demoCaller: requesters[0] }),
      });
      return world.worker;
    },
    async stopWorker(kill9 = false) {
      const p = world.worker;
      world.worker = null;
      if (p) await p.stop(kill9);
    },
    async startRequester() {
      if (world.requester) throw new Error("the requester already runs");
      world.requester = await startDaemon(requesterHome, {
        wrap: world.wrap(),
        env: spec.daemonEnv,
      });
      return world.requester;
    },
    async stopRequester(kill9 = false) {
      const p = world.requester;
      world.requester = null;
      if (p) await p.stop(kill9);
    },
    async destroy() {
      await world.stopRequester().catch(() => {});
      await world.stopWorker().catch(() => {});
      await double?.close().catch(() => {});
      await requesterDouble?.close().catch(() => {});
      await topo?.destroy().catch(() => {});
      await Deno.remove(base, { recursive: true }).catch(() => {});
    },
  };
  try {
    if (netns) {
      await Deno.mkdir(join(base, "ts"));
      const namespaces: Record<string, string[]> = { w: [`${MESH_WORKER_IP}/10`] };
      requesters.forEach((name, i) => namespaces[roleOf(name)] = [`${requesterIp(i)}/10`]);
      topo = await createTopology({ bridgeNs: "w", namespaces });
      world.topo = topo;
      double = await startNsLocalApiDouble(topo.ns.w, socket!, {
        self: { name: "worker", ips: [MESH_WORKER_IP], tags: ["tag:worker"] },
        nodes: requesters.map((name, i) => ({
          name,
          ips: [requesterIp(i)],
          login: `${name}@example.com`,
        })),
      }, join(base, "ts", "double.json"));
      world.double = double;
      await Deno.mkdir(join(base, "ts-r"));
      requesterDouble = await startNsLocalApiDouble(
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
      );
    }
    await world.startWorker();
    if (spec.requesterDaemon ?? true) await world.startRequester();
  } catch (e) {
    await world.destroy();
    throw e;
  }
  return world;
}

/** The control token of a daemon home (readable once the daemon started). */
export async function controlToken(home: string): Promise<string> {
  return (await Deno.readTextFile(join(home, "state", "control.token"))).trim();
}
