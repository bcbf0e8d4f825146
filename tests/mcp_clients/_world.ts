/**
 * @module
 * The world the real-MCP-client tests run in: a requesting machine ("laptop") whose coding
 * agent (the real `claude` or `codex` CLI) has `cmesh mcp` registered as an MCP server, and a
 * worker machine ("server") whose cmesh daemon runs the delegated task with a real runner CLI.
 * Each machine has its own scripted fake model (`tests/support/fake_model/`), so no vendor API
 * is contacted.
 *
 * | what | netns mode (root + iproute2) | loopback mode (otherwise) |
 * | --- | --- | --- |
 * | worker daemon, its runner, its fake model | namespace `w`, 100.64.0.1, LocalAPI double | 127.0.0.1, `--insecure-local-demo laptop` |
 * | requester daemon | namespace `laptop`, 100.64.0.2, LocalAPI double (finds `server` through status) | 127.0.0.1 |
 * | requesting CLI, `cmesh mcp` it spawns, its fake model (behind `fake_model_front.ts`) | namespace `laptop` | 127.0.0.1 |
 *
 * The mode is netns when possible; `CMESH_MCP_CLIENTS_MODE=loopback` forces loopback (to try the
 * fallback as root), `=netns` fails instead of falling back.
 *
 * The worker's runners are configured exactly as in `tests/runners_real/` (`[runners.claude]
 * env`, `[runners.codex] args`/`env` pointing at the worker's fake model). Everything lives
 * under `/var/tmp` (codex does not create its helper aliases under `/tmp`); HOME of the
 * daemons and the CLIs is an empty directory, so nothing of the machine's dotfiles leaks in.
 *
 * @example
 * ```ts
 * import { createClientWorld } from "./_world.ts";
 * const w = await createClientWorld({ workerRunner: "codex" });
 * try {
 *   const out = await w.runClient(["claude", "-p", "…"], { ANTHROPIC_BASE_URL: w.requesterModel.url });
 * } finally {
 *   await w.destroy();
 * }
 * ```
 */
import { join } from "node:path";
import { denoRunArgs } from "../../src/util/deno_permissions.ts";
import { fakeModelConfigToml } from "../runners_real/harness.ts";
import {
  type DaemonProcess,
  freePort,
  makeRepo,
  REPO_ROOT,
  startDaemon,
} from "../support/daemon.ts";
import type { FrontLoggedRequest } from "../support/fake_model_front.ts";
import { createTopology, nsWrap, systemTestSkipReason, type Topology } from "../support/netns.ts";
import { type NsLocalApiDouble, startNsLocalApiDouble } from "../system/ns_localapi_double.ts";
import { findOnPath } from "../support/proc.ts";
import {
  type ClientRun,
  DENO_DIR,
  type ModelProcess,
  runCommand,
  startModelProcess,
} from "./_processes.ts";

/** The runner CLIs. */
export type Cli = "claude" | "codex";

export { type ClientRun, DENO_DIR, type ModelProcess };

/** Versions `.ci/run` installs (informational; the tests print what they found). */
export const PINNED_CLI = { claude: "2.1.197", codex: "0.171.0" } as const;

/** Where each CLI is on PATH (null: missing). */
export const CLI_PATHS: Record<Cli, string | null> = {
  claude: findOnPath("claude"),
  codex: findOnPath("codex"),
};

/** Why a test with these CLIs cannot run here (a CLI or git missing), or null. */
export function clientSkipReason(...clis: Cli[]): string | null {
  for (const cli of clis) {
    if (CLI_PATHS[cli] === null) {
      const pkg = cli === "claude" ? "@anthropic-ai/claude-code" : "@openai/codex";
      return `'${cli}' is not on PATH (.ci/run installs ${pkg}@${PINNED_CLI[cli]})`;
    }
  }
  if (findOnPath("git") === null) return "git is missing (the worker's evidence needs it)";
  return null;
}

/** The regular expression that finds a cmesh task id in a request (for `{{task_id}}`). */
export const TASK_ID_CAPTURE = String.raw`task_id\\?":\s*\\?"(t[A-Za-z0-9_-]{7,63})`;

/** The worker's address in netns mode. */
export const SERVER_IP = "100.64.0.1";
/** The requester's address in netns mode. */
export const LAPTOP_IP = "100.64.0.2";
const NS_WORKER_PORT = 7433;
const NS_CONTROL_PORT = 7434;

const q = JSON.stringify;
const FRONT = new URL("../support/fake_model_front.ts", import.meta.url).pathname;
const FAKE_MAIN = new URL("../support/fake_model/main.ts", import.meta.url).pathname;
const SCRIPTS = new URL("../testdata/fake_model/", import.meta.url).pathname;

/** Options of {@link createClientWorld}. */
export interface ClientWorldOptions {
  /** The runner the delegated task runs with on the worker. */
  workerRunner: Cli;
  /** The task text the requesting agent's script delegates. */
  task?: string;
  /** The requesting agent's script (default `testdata/fake_model/mcp_client_requester.json`). */
  requesterScript?: string;
}

/** Everything a client test needs. */
export interface ClientWorld {
  mode: "netns" | "loopback";
  base: string;
  /** The repo on the worker (cwd of the delegated task); `notes.txt` holds {@link notes}. */
  repo: string;
  /** A marker only `notes.txt` on the worker contains. */
  notes: string;
  /** The task text the requesting agent delegates. */
  task: string;
  workerRunner: Cli;
  laptopHome: string;
  serverHome: string;
  laptopDb: string;
  serverDb: string;
  /** cwd of the requesting CLI. */
  clientWork: string;
  /** `CLAUDE_CONFIG_DIR` / `CODEX_HOME` of the requesting CLI (outside /tmp). */
  clientState: string;
  /** The empty HOME of the requesting CLI. */
  clientHome: string;
  /** The requesting agent's fake model (front log: requests as the CLI sent them). */
  requesterModel: ModelProcess;
  /** The worker runner's fake model. */
  workerModel: ModelProcess;
  /** The `cmesh mcp` command a client registers: deno run <permission flags> … mcp, with its env. */
  mcpServer: { command: string; args: string[]; env: Record<string, string> };
  /** Runs a requesting CLI on the laptop (in its namespace in netns mode), stdin /dev/null. */
  runClient(argv: string[], env: Record<string, string>, timeoutMs?: number): Promise<ClientRun>;
  /** Stops both daemons (their databases can then be read). */
  stopDaemons(): Promise<void>;
  /** Stops everything and removes the files. Safe to call twice. */
  destroy(): Promise<void>;
}

/** The requesting agent's front log, typed. */
export type FrontLog = FrontLoggedRequest[];

function workerConfig(
  o: { root: string; modelUrl: string; socket: string | null; controlPort: number; port: number },
): string {
  const tailscale = o.socket === null
    ? ""
    : `[tailscale]\nsocket = ${q(o.socket)}\ntimeout_ms = 2000\n\n`;
  return `# written by tests/mcp_clients/_world.ts
[node]
name = "server"

[daemon]
worker_port = ${o.port}
control_port = ${o.controlPort}

${tailscale}[inbound]
enabled = true

[[inbound.allow]]
peers = ["laptop"]
profiles = ["query"]
cwd = [${q(o.root)}]
runners = ["claude", "codex"]

# The real runner CLIs, pointed at the worker's fake model (as in tests/runners_real/).
${fakeModelConfigToml(o.modelUrl)}`;
}

function requesterConfig(
  o: {
    base: string;
    socket: string | null;
    controlPort: number;
    port: number;
    peerAddress: string | null;
    peerPort: number;
  },
): string {
  const tailscale = o.socket === null
    ? ""
    : `[tailscale]\nsocket = ${q(o.socket)}\ntimeout_ms = 2000\n\n`;
  const address = o.peerAddress === null
    ? "# No address: found through LocalAPI status, as on a tailnet.\n"
    : `address = ${q(o.peerAddress)}\n`;
  return `# written by tests/mcp_clients/_world.ts
[node]
name = "laptop"

[daemon]
worker_port = ${o.port}
control_port = ${o.controlPort}

${tailscale}[inbound]
enabled = false

[[outbound.peers]]
name = "server"
${address}port = ${o.peerPort}
profiles = ["query"]
cwd = [${q(`${o.base}/**`)}]
`;
}

/** Builds the world and starts both fake models and both daemons (worker first). */
export async function createClientWorld(opts: ClientWorldOptions): Promise<ClientWorld> {
  const forced = Deno.env.get("CMESH_MCP_CLIENTS_MODE");
  if (forced === "netns" && systemTestSkipReason() !== null) {
    throw new Error(`CMESH_MCP_CLIENTS_MODE=netns, but ${systemTestSkipReason()}`);
  }
  const mode = forced === "loopback" || systemTestSkipReason() !== null ? "loopback" : "netns";
  const base = await Deno.realPath(
    await Deno.makeTempDir({ dir: "/var/tmp", prefix: "cmesh-mcp-clients-" }),
  );
  const d = (...p: string[]) => join(base, ...p);
  const root = d("root");
  const repo = d("root", "repo");
  const notes = `notes-from-server-${crypto.randomUUID().slice(0, 8)}`;
  const task = opts.task ??
    "Read notes.txt in the repository and report exactly what it says. Do not change anything.";
  const dirs = ["home-laptop", "home-server", "ts-laptop", "ts-server", "logs", "daemon-home"];
  for (const dir of [...dirs, "client-work", "client-state", "client-home"]) {
    await Deno.mkdir(d(dir), { recursive: true, mode: 0o700 });
  }
  await Deno.mkdir(repo, { recursive: true });
  await Deno.writeTextFile(join(repo, "notes.txt"), `${notes}\n`);
  await makeRepo(repo); // commits notes.txt too: the task starts from a clean tree

  let topo: Topology | null = null;
  const doubles: NsLocalApiDouble[] = [];
  const models: ModelProcess[] = [];
  const daemons: DaemonProcess[] = [];
  let destroyed = false;
  const stopDaemons = async () => {
    for (const p of daemons.splice(0).reverse()) await p.stop().catch(() => {});
  };
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    await stopDaemons();
    for (const m of models) await m.close().catch(() => {});
    for (const x of doubles) await x.close().catch(() => {});
    await topo?.destroy();
    await Deno.remove(base, { recursive: true }).catch(() => {});
  };

  try {
    let serverWrap: string[] = [];
    let laptopWrap: string[] = [];
    let serverSocket: string | null = null;
    let laptopSocket: string | null = null;
    if (mode === "netns") {
      topo = await createTopology({
        bridgeNs: "w",
        namespaces: { w: [`${SERVER_IP}/10`], laptop: [`${LAPTOP_IP}/10`] },
      });
      serverWrap = nsWrap(topo.ns.w);
      laptopWrap = nsWrap(topo.ns.laptop);
      serverSocket = d("ts-server", "tailscaled.sock");
      laptopSocket = d("ts-laptop", "tailscaled.sock");
      const server = { name: "server", ips: [SERVER_IP], tags: ["tag:server"] };
      const laptop = { name: "laptop", ips: [LAPTOP_IP], login: "alice@example.com" };
      doubles.push(
        await startNsLocalApiDouble(
          topo.ns.w,
          serverSocket,
          { self: server, nodes: [laptop] },
          d(
            "ts-server",
            "double.json",
          ),
        ),
      );
      doubles.push(
        await startNsLocalApiDouble(topo.ns.laptop, laptopSocket, {
          self: laptop,
          nodes: [server],
        }, d("ts-laptop", "double.json")),
      );
    }

    const workerModel = await startModelProcess(serverWrap, FAKE_MAIN, [
      "--script",
      join(SCRIPTS, "read_then_answer.json"),
      "--var",
      `workdir=${repo}`,
    ], d("logs", "worker-model.jsonl"));
    models.push(workerModel);
    const requesterModel = await startModelProcess(laptopWrap, FRONT, [
      "--script",
      opts.requesterScript ?? join(SCRIPTS, "mcp_client_requester.json"),
      "--var",
      "peer=server",
      "--var",
      `cwd=${repo}`,
      "--var",
      `runner=${opts.workerRunner}`,
      "--var",
      `task=${task}`,
      "--capture",
      `task_id=${TASK_ID_CAPTURE}`,
      "--backend-log",
      d("logs", "requester-model-backend.jsonl"),
    ], d("logs", "requester-model.jsonl"));
    models.push(requesterModel);

    const ports = mode === "netns"
      ? {
        serverWorker: NS_WORKER_PORT,
        serverControl: NS_CONTROL_PORT,
        laptopWorker: NS_WORKER_PORT,
        laptopControl: NS_CONTROL_PORT,
      }
      : {
        serverWorker: freePort(),
        serverControl: freePort(),
        laptopWorker: freePort(),
        laptopControl: freePort(),
      };
    await Deno.writeTextFile(
      d("home-server", "config.toml"),
      workerConfig({
        root,
        modelUrl: workerModel.url,
        socket: serverSocket,
        controlPort: ports.serverControl,
        port: ports.serverWorker,
      }),
    );
    await Deno.writeTextFile(
      d("home-laptop", "config.toml"),
      requesterConfig({
        base,
        socket: laptopSocket,
        controlPort: ports.laptopControl,
        port: ports.laptopWorker,
        peerAddress: mode === "netns" ? null : "127.0.0.1",
        peerPort: ports.serverWorker,
      }),
    );
    const daemonEnv = { HOME: d("daemon-home"), DENO_DIR };
    daemons.push(
      await startDaemon(d("home-server"), {
        wrap: serverWrap,
        env: daemonEnv,
        ...(mode === "loopback" ? { demoCaller: "laptop" } : {}),
      }),
    );
    daemons.push(await startDaemon(d("home-laptop"), { wrap: laptopWrap, env: daemonEnv }));

    const mcpServer = {
      command: Deno.execPath(),
      args: denoRunArgs(join(REPO_ROOT, "src", "main.ts"), ["mcp"]),
      env: { CMESH_HOME: d("home-laptop"), DENO_DIR },
    };

    const runClient = (argv: string[], env: Record<string, string>, timeoutMs = 120_000) =>
      runCommand([...laptopWrap, ...argv], {
        cwd: d("client-work"),
        env: {
          PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
          HOME: d("client-home"),
          LANG: "C.UTF-8",
          ...env,
        },
        timeoutMs,
      });

    return {
      mode,
      base,
      repo,
      notes,
      task,
      workerRunner: opts.workerRunner,
      laptopHome: d("home-laptop"),
      serverHome: d("home-server"),
      laptopDb: d("home-laptop", "state", "cmesh.db"),
      serverDb: d("home-server", "state", "cmesh.db"),
      clientWork: d("client-work"),
      clientState: d("client-state"),
      clientHome: d("client-home"),
      requesterModel,
      workerModel,
      mcpServer,
      runClient,
      stopDaemons,
      destroy,
    };
  } catch (e) {
    await destroy();
    throw e;
  }
}
