/**
 * @module
 * Test harness for `cmesh mcp`: one real daemon in local-demo mode acting as both requester
 * ("server" delegating to itself, caller named "laptop") and worker; the MCP client is
 * `tests/support/mcp_session.ts`.
 *
 * @example
 * ```ts
 * import { connectMcp, startWorld } from "./_harness.ts";
 * const world = await startWorld();
 * const mcp = await connectMcp(world.home);
 * await mcp.close();
 * await world.stop();
 * ```
 */
import { join } from "node:path";
import { createNode, type DaemonProcess, freePort, makeRepo, tempDir } from "../support/daemon.ts";

export { connectMcp, type McpSession, serverEnv, textOf } from "../support/mcp_session.ts";

/** A home with a config, a repo the worker allows, and a running daemon. */
export interface World {
  home: string;
  /** The repo inside the worker's allowed cwd root. */
  repo: string;
  /** A directory under /tmp that my outbound policy allows but the worker does not. */
  outsideRoot: string;
  controlPort: number;
  workerPort: number;
  /** A port nothing listens on (the "offline" peer). */
  closedPort: number;
  daemon: DaemonProcess;
  stop(): Promise<void>;
}

/** Makes a home (outbound "server" → my own worker; "ghost" → a closed port) and starts it. */
export async function startWorld(): Promise<World> {
  const dir = await tempDir("cmesh-mcp-");
  const home = join(dir.path, "home");
  const outsideRoot = join(dir.path, "elsewhere");
  await Deno.mkdir(outsideRoot, { recursive: true });
  await makeRepo(join(dir.path, "repo"));
  const repo = await Deno.realPath(join(dir.path, "repo"));
  const ports = { controlPort: freePort(), workerPort: freePort(), closedPort: freePort() };
  const peer = { address: "127.0.0.1", cwd: ["/tmp/**"] };
  const node = await createNode(home, {
    demoCaller: "laptop",
    config: {
      node: { name: "server" },
      daemon: { control_port: ports.controlPort, worker_port: ports.workerPort },
      profiles: { edit: { enabled: true } },
      inbound: {
        enabled: true,
        allow: [{ peers: ["laptop"], profiles: ["query"], cwd: [repo], runners: ["demo"] }],
      },
      runners: { demo: {} },
      outbound: {
        peers: [
          { name: "server", port: ports.workerPort, profiles: ["query", "edit"], ...peer },
          { name: "ghost", port: ports.closedPort, ...peer },
        ],
      },
    },
  });
  const daemon = await node.start();
  return {
    home,
    repo,
    outsideRoot,
    ...ports,
    daemon,
    async stop() {
      await node.stop();
      await dir.cleanup();
    },
  };
}
