/**
 * @module
 * The world the end-to-end system tests run in: one process per role, as on real machines,
 * each in its own network namespace on one bridge, each with its own LocalAPI double (the
 * tailscaled stand-in), home and `cmesh daemon`. The requesters' `cmesh mcp` runs inside the
 * requester's namespace (it talks to that daemon's loopback control API), driven over stdio by
 * the MCP SDK's `Client`, as a coding agent would drive it.
 *
 * | role (namespace `cmt-<id>-<role>`) | address | its LocalAPI double says | cmesh |
 * | --- | --- | --- | --- |
 * | `w` | 100.64.0.1/10 (bridge) | self `server`; whois laptop, printer | worker; rule 0 names peer `laptop` |
 * | `laptop` | 100.64.0.2/10 | self `laptop` (alice); peers `server`, `sleeper` (offline) | requester |
 * | `printer` (optional) | 100.64.0.5/10 | self `printer` (tag:printer); peer `server` | requester no rule names |
 *
 * The requesters' `[[outbound.peers]]` carry no `address`: `server` is found through LocalAPI
 * `status` (host name → 100.64.0.1), exactly as on a tailnet.
 *
 * @example
 * ```ts
 * import { createE2eWorld } from "./e2e_world.ts";
 * const w = await createE2eWorld({ printer: false });
 * try {
 *   const mcp = await w.laptop.connectMcp();
 *   const res = await mcp.call("cmesh_peers", {});
 * } finally {
 *   await w.destroy();
 * }
 * ```
 */
import { join } from "node:path";
import { Client, type Progress, StdioClientTransport } from "../../src/deps/mcp_client.ts";
import {
  cmeshArgs,
  type DaemonProcess,
  makeRepo,
  REPO_ROOT,
  startDaemon,
} from "../support/daemon.ts";
import { fakeAgentManifestToml } from "../support/fake_agent.ts";
import { createTopology, ipBinary, nsWrap, systemTestSkipReason } from "../support/netns.ts";
import type { Topology } from "../support/netns.ts";
import { type NsLocalApiDouble, startNsLocalApiDouble } from "./ns_localapi_double.ts";

/** Addresses and ports (every namespace has its own stack, so the ports repeat). */
export const IPS = { server: "100.64.0.1", laptop: "100.64.0.2", printer: "100.64.0.5" } as const;
/** `sleeper` is in laptop's tailnet status, but offline. */
export const SLEEPER_IP = "100.64.0.9";
export const WORKER_PORT = 7433;
export const CONTROL_PORT = 7434;

/** Why these tests cannot run here (namespace prerequisites plus git), or null. */
export function e2eSkipReason(): string | null {
  const ns = systemTestSkipReason();
  if (ns) return ns;
  for (const git of ["/usr/bin/git", "/bin/git", "/usr/local/bin/git"]) {
    try {
      if (Deno.statSync(git).isFile) return null;
    } catch { /* next */ }
  }
  return "git is missing (the worker's evidence and the test repo need it)";
}

/** An MCP client connected to a `cmesh mcp` running inside a namespace. */
export interface McpSession {
  client: Client;
  /** Calls a tool (no progress token). */
  call(name: string, args: Record<string, unknown>): ReturnType<Client["callTool"]>;
  /** Calls a tool with a progress token, collecting the notifications. */
  callWithProgress(
    name: string,
    args: Record<string, unknown>,
  ): Promise<{ result: Awaited<ReturnType<Client["callTool"]>>; progress: Progress[] }>;
  /** What the server wrote to stderr. */
  stderr(): string;
  close(): Promise<void>;
}

/** A node: namespace, home, LocalAPI double and daemon. */
export interface Node {
  name: string;
  ns: string;
  /** `CMESH_HOME`. */
  home: string;
  configFile: string;
  /** The daemon's database (read it only after the daemon stopped). */
  dbPath: string;
  double: NsLocalApiDouble;
  daemon: DaemonProcess | null;
  startDaemon(): Promise<DaemonProcess>;
  stopDaemon(): Promise<void>;
  /** Spawns `cmesh mcp` for this node's home inside its namespace (requesters only). */
  connectMcp(): Promise<McpSession>;
}

/** Everything a test needs. */
export interface E2eWorld {
  topo: Topology;
  base: string;
  /** The worker's allowed cwd root (`inbound.allow[0].cwd`). */
  root: string;
  /** A git repo inside the root. */
  repo: string;
  /** A directory my outbound policy allows but the worker's rule does not. */
  outside: string;
  server: Node;
  laptop: Node;
  /** Present with `{ printer: true }`. */
  printer: Node | null;
  /** Stops every process, deletes the namespaces and files. Safe to call twice. */
  destroy(): Promise<void>;
}

const q = JSON.stringify;

/** The tables every node's config starts with: its name, ports and LocalAPI double. */
function configHead(name: string, socket: string): string {
  return `# written by tests/system/e2e_world.ts
[node]
name = ${q(name)}

[daemon]
worker_port = ${WORKER_PORT}
control_port = ${CONTROL_PORT}

[tailscale]
socket = ${q(socket)}
timeout_ms = 2000
`;
}

function workerConfig(socket: string, root: string): string {
  return `${configHead("server", socket)}
[inbound]
enabled = true

[[inbound.allow]]
peers = ["laptop"]
profiles = ["query", "edit"]
cwd = [${q(root)}]
runners = ["fake"]

[profiles.edit]
enabled = true

# Enabled on this node, but rule 0 does not give it to laptop: the denial names the rule.
[profiles.build]
enabled = true

[runners.fake]
enabled = true
`;
}

function requesterConfig(name: string, socket: string, base: string): string {
  return `${configHead(name, socket)}
[inbound]
enabled = false

# No address: found through LocalAPI status.
[[outbound.peers]]
name = "server"
port = ${WORKER_PORT}
profiles = ["query", "edit", "build"]
cwd = [${q(`${base}/**`)}]

[[outbound.peers]]
name = "sleeper"
cwd = [${q(`${base}/**`)}]
`;
}

/** The env `cmesh mcp` gets (the SDK transport passes only a few variables by itself). */
function mcpEnv(home: string): Record<string, string> {
  const env: Record<string, string> = { CMESH_HOME: home, NO_COLOR: "1" };
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const v = Deno.env.get(name);
    if (v) env[name] = v;
  }
  return env;
}

async function connectMcpIn(ns: string, home: string): Promise<McpSession> {
  const transport = new StdioClientTransport({
    command: ipBinary()!,
    args: ["netns", "exec", ns, Deno.execPath(), ...cmeshArgs("mcp")],
    cwd: REPO_ROOT,
    env: mcpEnv(home),
    stderr: "pipe",
  });
  let err = "";
  transport.stderr?.on("data", (chunk: Uint8Array | string) => {
    err += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
  });
  const client = new Client({ name: "cmesh-e2e", version: "0" });
  await client.connect(transport);
  return {
    client,
    call: (name, args) =>
      client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 }),
    async callWithProgress(name, args) {
      const progress: Progress[] = [];
      const result = await client.callTool({ name, arguments: args }, undefined, {
        onprogress: (p) => progress.push(p),
        timeout: 60_000,
      });
      return { result, progress };
    },
    stderr: () => err,
    close: () => client.close(),
  };
}

function makeNode(
  name: string,
  ns: string,
  home: string,
  double: NsLocalApiDouble,
  mcps: McpSession[],
): Node {
  const node: Node = {
    name,
    ns,
    home,
    configFile: join(home, "config.toml"),
    dbPath: join(home, "state", "cmesh.db"),
    double,
    daemon: null,
    async startDaemon() {
      if (node.daemon) throw new Error(`the ${name} daemon already runs`);
      node.daemon = await startDaemon(home, { wrap: nsWrap(ns) });
      return node.daemon;
    },
    async stopDaemon() {
      const p = node.daemon;
      node.daemon = null;
      if (p) await p.stop();
    },
    async connectMcp() {
      const s = await connectMcpIn(ns, home);
      mcps.push(s);
      return s;
    },
  };
  return node;
}

/**
 * Builds the world and starts every daemon (worker first). On failure, whatever was built is
 * torn down again.
 */
export async function createE2eWorld(opts: { printer: boolean }): Promise<E2eWorld> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmt-e2e-" }));
  const root = join(base, "root");
  const repo = join(root, "repo");
  const outside = join(base, "outside");
  const roles = ["server", "laptop", ...(opts.printer ? ["printer"] : [])];
  const homeOf = (r: string) => join(base, `home-${r}`);
  const socketOf = (r: string) => join(base, `ts-${r}`, "tailscaled.sock");
  for (const r of roles) {
    await Deno.mkdir(join(homeOf(r), "runners"), { recursive: true });
    await Deno.mkdir(join(base, `ts-${r}`), { recursive: true });
  }
  await Deno.mkdir(outside, { recursive: true });
  await makeRepo(repo);
  await Deno.writeTextFile(
    join(homeOf("server"), "config.toml"),
    workerConfig(socketOf("server"), root),
  );
  await Deno.writeTextFile(
    join(homeOf("server"), "runners", "fake.toml"),
    fakeAgentManifestToml(["query", "edit", "build"]),
  );
  for (const r of roles.slice(1)) {
    await Deno.writeTextFile(join(homeOf(r), "config.toml"), requesterConfig(r, socketOf(r), base));
  }

  let topo: Topology | null = null;
  const doubles: NsLocalApiDouble[] = [];
  const mcps: McpSession[] = [];
  const nodes: Node[] = [];
  let destroyed = false;
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    for (const m of mcps) await m.close().catch(() => {});
    for (const n of nodes) await n.stopDaemon().catch(() => {});
    for (const d of doubles) await d.close().catch(() => {});
    await topo?.destroy();
    await Deno.remove(base, { recursive: true }).catch(() => {});
  };
  try {
    topo = await createTopology({
      bridgeNs: "w",
      namespaces: {
        w: [`${IPS.server}/10`],
        laptop: [`${IPS.laptop}/10`],
        ...(opts.printer ? { printer: [`${IPS.printer}/10`] } : {}),
      },
    });
    const t = topo;
    const server = { name: "server", ips: [IPS.server], tags: ["tag:server"] };
    const laptop = { name: "laptop", ips: [IPS.laptop], login: "alice@example.com" };
    const printer = { name: "printer", ips: [IPS.printer], tags: ["tag:printer"] };
    const sleeper = {
      name: "sleeper",
      ips: [SLEEPER_IP],
      login: "alice@example.com",
      online: false,
    };
    const specs = [
      { role: "server", ns: t.ns.w, config: { self: server, nodes: [laptop, printer] } },
      { role: "laptop", ns: t.ns.laptop, config: { self: laptop, nodes: [server, sleeper] } },
      ...(opts.printer
        ? [{ role: "printer", ns: t.ns.printer, config: { self: printer, nodes: [server] } }]
        : []),
    ];
    const started = await Promise.allSettled(
      specs.map((s) =>
        startNsLocalApiDouble(
          s.ns,
          socketOf(s.role),
          s.config,
          join(base, `ts-${s.role}`, "double.json"),
        )
      ),
    );
    for (const s of started) if (s.status === "fulfilled") doubles.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    specs.forEach((s, i) => nodes.push(makeNode(s.role, s.ns, homeOf(s.role), doubles[i], mcps)));
    await nodes[0].startDaemon();
    await Promise.all(nodes.slice(1).map((n) => n.startDaemon()));
  } catch (e) {
    await destroy();
    throw e;
  }
  return {
    topo,
    base,
    root,
    repo,
    outside,
    server: nodes[0],
    laptop: nodes[1],
    printer: nodes[2] ?? null,
    destroy,
  };
}

/** The text of a tool result's text blocks. */
export function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.filter((c) => c.type === "text").map((c) => c.text ?? "").join("\n");
}
