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
import { fakeModelRunners } from "../runners_real/harness.ts";
import {
  type CmeshNode,
  type ConfigInput,
  createNode,
  freePort,
  makeRepo,
  REPO_ROOT,
  Teardown,
} from "../support/daemon.ts";
import type { NodeSpec } from "../support/localapi_fixtures.ts";
import type { FrontLoggedRequest } from "../support/fake_model_front.ts";
import { createTopology, nsWrap, systemTestSkipReason } from "../support/netns.ts";
import { startNsLocalApiDouble } from "../system/ns_localapi_double.ts";
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

const FRONT = new URL("../support/fake_model_front.ts", import.meta.url).pathname;
const FAKE_MAIN = new URL("../support/fake_model/main.ts", import.meta.url).pathname;
const SCRIPTS = new URL("../testdata/fake_model/", import.meta.url).pathname;

/** Options of {@link createClientWorld}. */
export interface ClientWorldOptions {
  /** The runner the delegated task runs with on the worker. */
  workerRunner: Cli;
  /** The prompt the requesting agent's script delegates (the `task` argument of cmesh_delegate). */
  prompt?: string;
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
  /** The prompt the requesting agent delegates. */
  prompt: string;
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

/** The head of both configs: name, ports, and (netns) the node's LocalAPI double. */
function configHead(
  o: { name: string; socket: string | null; controlPort: number; port: number },
): ConfigInput {
  return {
    node: { name: o.name },
    daemon: { worker_port: o.port, control_port: o.controlPort },
    ...(o.socket === null ? {} : { tailscale: { socket: o.socket, timeout_ms: 2000 } }),
  };
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
  const prompt = opts.prompt ??
    "Read notes.txt in the repository and report exactly what it says. Do not change anything.";
  const dirs = ["home-laptop", "home-server", "ts-laptop", "ts-server", "logs", "daemon-home"];
  for (const dir of [...dirs, "client-work", "client-state", "client-home"]) {
    await Deno.mkdir(d(dir), { recursive: true, mode: 0o700 });
  }
  await Deno.mkdir(repo, { recursive: true });
  await Deno.writeTextFile(join(repo, "notes.txt"), `${notes}\n`);
  await makeRepo(repo); // commits notes.txt too: the task starts from a clean tree

  const teardown = new Teardown();
  teardown.add(base, (b) => Deno.remove(b, { recursive: true }));
  const nodes: CmeshNode[] = [];
  const stopDaemons = async () => {
    for (const n of [...nodes].reverse()) await n.stop().catch(() => {});
  };

  try {
    let serverWrap: string[] = [];
    let laptopWrap: string[] = [];
    let serverSocket: string | null = null;
    let laptopSocket: string | null = null;
    if (mode === "netns") {
      const topo = teardown.add(
        await createTopology({
          bridgeNs: "w",
          namespaces: { w: [`${SERVER_IP}/10`], laptop: [`${LAPTOP_IP}/10`] },
        }),
        (t) => t.destroy(),
      );
      serverWrap = nsWrap(topo.ns.w);
      laptopWrap = nsWrap(topo.ns.laptop);
      serverSocket = d("ts-server", "tailscaled.sock");
      laptopSocket = d("ts-laptop", "tailscaled.sock");
      const server = { name: "server", ips: [SERVER_IP], tags: ["tag:server"] };
      const laptop = { name: "laptop", ips: [LAPTOP_IP], login: "alice@example.com" };
      const double = (ns: string, socket: string, self: NodeSpec, peer: NodeSpec) =>
        startNsLocalApiDouble(ns, socket, { self, nodes: [peer] }, `${socket}.json`);
      teardown.add(await double(topo.ns.w, serverSocket, server, laptop), (x) => x.close());
      teardown.add(await double(topo.ns.laptop, laptopSocket, laptop, server), (x) => x.close());
    }

    const workerModel = await startModelProcess(serverWrap, FAKE_MAIN, [
      "--script",
      join(SCRIPTS, "read_then_answer.json"),
      "--var",
      `workdir=${repo}`,
    ], d("logs", "worker-model.jsonl"));
    teardown.add(workerModel, (m) => m.close());
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
      `prompt=${prompt}`,
      "--capture",
      `task_id=${TASK_ID_CAPTURE}`,
      "--backend-log",
      d("logs", "requester-model-backend.jsonl"),
    ], d("logs", "requester-model.jsonl"));
    teardown.add(requesterModel, (m) => m.close());

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
    const daemonEnv = { HOME: d("daemon-home"), DENO_DIR };
    const serverNode = await createNode(d("home-server"), {
      wrap: serverWrap,
      env: daemonEnv,
      ...(mode === "loopback" ? { demoCaller: "laptop" } : {}),
      config: {
        ...configHead({
          name: "server",
          socket: serverSocket,
          controlPort: ports.serverControl,
          port: ports.serverWorker,
        }),
        inbound: {
          enabled: true,
          allow: [{
            peers: ["laptop"],
            profiles: ["query"],
            cwd: [root],
            runners: ["claude", "codex"],
          }],
        },
        // The real runner CLIs, pointed at the worker's fake model (as in tests/runners_real/).
        runners: fakeModelRunners(workerModel.url),
      },
    });
    const laptopNode = await createNode(d("home-laptop"), {
      wrap: laptopWrap,
      env: daemonEnv,
      config: {
        ...configHead({
          name: "laptop",
          socket: laptopSocket,
          controlPort: ports.laptopControl,
          port: ports.laptopWorker,
        }),
        inbound: { enabled: false },
        outbound: {
          peers: [{
            name: "server",
            // netns: no address, found through LocalAPI status as on a tailnet.
            ...(mode === "netns" ? {} : { address: "127.0.0.1" }),
            port: ports.serverWorker,
            profiles: ["query"],
            cwd: [`${base}/**`],
          }],
        },
      },
    });
    teardown.add(null, stopDaemons);
    for (const node of [serverNode, laptopNode]) {
      nodes.push(node);
      await node.start();
    }

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
      prompt,
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
      destroy: () => teardown.run(),
    };
  } catch (e) {
    await teardown.run();
    throw e;
  }
}
