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
import {
  type CmeshNode,
  type ConfigInput,
  createNode,
  type DaemonProcess,
  makeRepo,
  Teardown,
} from "../support/daemon.ts";
import { fakeAgentManifestToml } from "../support/fake_agent.ts";
import { connectMcp, type McpSession } from "../support/mcp_session.ts";
import { createTopology, nsWrap, systemTestSkipReason } from "../support/netns.ts";
import type { Topology } from "../support/netns.ts";
import { type NsLocalApiDouble, startNsLocalApiDouble } from "./ns_localapi_double.ts";

export { type McpSession, textOf } from "../support/mcp_session.ts";

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

/** A node: namespace, home, LocalAPI double and daemon. */
export interface Node extends Omit<CmeshNode, "start" | "stop"> {
  name: string;
  ns: string;
  double: NsLocalApiDouble;
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

/** The tables every node's config starts with: its name, ports and LocalAPI double. */
function configHead(name: string, socket: string): ConfigInput {
  return {
    node: { name },
    daemon: { worker_port: WORKER_PORT, control_port: CONTROL_PORT },
    tailscale: { socket, timeout_ms: 2000 },
  };
}

function workerConfig(socket: string, root: string): ConfigInput {
  return {
    ...configHead("server", socket),
    inbound: {
      enabled: true,
      allow: [{ peers: ["laptop"], profiles: ["query", "edit"], cwd: [root], runners: ["fake"] }],
    },
    // build is enabled on this node, but rule 0 does not give it to laptop: the denial names
    // the rule.
    profiles: { edit: { enabled: true }, build: { enabled: true } },
    runners: { fake: { enabled: true } },
  };
}

function requesterConfig(name: string, socket: string, base: string): ConfigInput {
  const cwd = [`${base}/**`];
  return {
    ...configHead(name, socket),
    inbound: { enabled: false },
    // No address: found through LocalAPI status.
    outbound: {
      peers: [
        { name: "server", port: WORKER_PORT, profiles: ["query", "edit", "build"], cwd },
        { name: "sleeper", cwd },
      ],
    },
  };
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
  const socketOf = (r: string) => join(base, `ts-${r}`, "tailscaled.sock");
  for (const r of roles) await Deno.mkdir(join(base, `ts-${r}`), { recursive: true });
  await Deno.mkdir(outside, { recursive: true });
  await makeRepo(repo);

  const teardown = new Teardown();
  teardown.add(base, (b) => Deno.remove(b, { recursive: true }));
  const nodes: Node[] = [];
  try {
    const topo = teardown.add(
      await createTopology({
        bridgeNs: "w",
        namespaces: {
          w: [`${IPS.server}/10`],
          laptop: [`${IPS.laptop}/10`],
          ...(opts.printer ? { printer: [`${IPS.printer}/10`] } : {}),
        },
      }),
      (t) => t.destroy(),
    );
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
      { role: "server", ns: topo.ns.w, config: { self: server, nodes: [laptop, printer] } },
      { role: "laptop", ns: topo.ns.laptop, config: { self: laptop, nodes: [server, sleeper] } },
      ...(opts.printer
        ? [{ role: "printer", ns: topo.ns.printer, config: { self: printer, nodes: [server] } }]
        : []),
    ];
    for (const s of specs) {
      const double = teardown.add(
        await startNsLocalApiDouble(
          s.ns,
          socketOf(s.role),
          s.config,
          join(base, `ts-${s.role}`, "double.json"),
        ),
        (d) => d.close(),
      );
      const home = join(base, `home-${s.role}`);
      const worker = s.role === "server";
      const node = teardown.add(
        await createNode(home, {
          wrap: nsWrap(s.ns),
          config: worker
            ? workerConfig(socketOf(s.role), root)
            : requesterConfig(s.role, socketOf(s.role), base),
          runners: worker ? { fake: fakeAgentManifestToml(["query", "edit", "build"]) } : {},
        }),
        (n) => n.stop(),
      );
      nodes.push({
        ...node,
        name: s.role,
        ns: s.ns,
        double,
        get daemon() {
          return node.daemon;
        },
        startDaemon: () => node.start(),
        stopDaemon: () => node.stop(),
        connectMcp: async () =>
          teardown.add(await connectMcp(home, nsWrap(s.ns)), (m) => m.close()),
      });
    }
    await nodes[0].startDaemon();
    await Promise.all(nodes.slice(1).map((n) => n.startDaemon()));
    return {
      topo,
      base,
      root,
      repo,
      outside,
      server: nodes[0],
      laptop: nodes[1],
      printer: nodes[2] ?? null,
      destroy: () => teardown.run(),
    };
  } catch (e) {
    await teardown.run();
    throw e;
  }
}
