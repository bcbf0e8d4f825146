/**
 * @module
 * Test harness for `cmesh mcp`: one real daemon in local-demo mode acting as both requester
 * ("server" delegating to itself, caller named "laptop") and worker, and the SDK's MCP client
 * spawning `deno run <permission flags> src/main.ts mcp` over stdio, as a coding agent would.
 */
import { join } from "node:path";
import { Client, type Progress, StdioClientTransport } from "../../src/deps/mcp_client.ts";
import {
  cmeshArgs,
  type DaemonProcess,
  freePort,
  makeRepo,
  REPO_ROOT,
  startDaemon,
  tempDir,
} from "../support/daemon.ts";

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

/** The local-demo config: outbound "server" → my own worker; "ghost" → a closed port. */
export function worldConfig(w: Omit<World, "daemon" | "stop">): string {
  return `[node]
name = "server"
[daemon]
control_port = ${w.controlPort}
worker_port = ${w.workerPort}
[profiles.edit]
enabled = true
[inbound]
enabled = true
[[inbound.allow]]
peers = ["laptop"]
profiles = ["query"]
cwd = [${JSON.stringify(w.repo)}]
runners = ["demo"]
[runners.demo]
[[outbound.peers]]
name = "server"
address = "127.0.0.1"
port = ${w.workerPort}
profiles = ["query", "edit"]
cwd = ["/tmp/**"]
[[outbound.peers]]
name = "ghost"
address = "127.0.0.1"
port = ${w.closedPort}
cwd = ["/tmp/**"]
`;
}

/** Makes a home and starts its daemon. */
export async function startWorld(): Promise<World> {
  const dir = await tempDir("cmesh-mcp-");
  const home = join(dir.path, "home");
  const repo = join(dir.path, "repo");
  const outsideRoot = join(dir.path, "elsewhere");
  await Deno.mkdir(home, { recursive: true });
  await Deno.mkdir(outsideRoot, { recursive: true });
  await makeRepo(repo);
  const ports = { controlPort: freePort(), workerPort: freePort(), closedPort: freePort() };
  const base = { home, repo: await Deno.realPath(repo), outsideRoot, ...ports };
  await Deno.writeTextFile(join(home, "config.toml"), worldConfig(base));
  const daemon = await startDaemon(home, { demoCaller: "laptop" });
  return {
    ...base,
    daemon,
    async stop() {
      await daemon.stop();
      await dir.cleanup();
    },
  };
}

/** An MCP client connected to a spawned `cmesh mcp`. */
export interface McpSession {
  client: Client;
  /** Everything the server wrote to stderr. */
  stderr(): string;
  close(): Promise<void>;
}

/** The env the server gets: the SDK transport would pass only a few variables itself. */
export function serverEnv(home: string): Record<string, string> {
  const env: Record<string, string> = { CMESH_HOME: home, NO_COLOR: "1" };
  for (const name of ["PATH", "HOME", "DENO_DIR", "DENO_COVERAGE_DIR"]) {
    const v = Deno.env.get(name);
    if (v) env[name] = v;
  }
  return env;
}

/** Spawns `cmesh mcp` with `CMESH_HOME=home` and connects the SDK client. */
export async function connectMcp(home: string): Promise<McpSession> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: cmeshArgs("mcp"),
    cwd: REPO_ROOT,
    env: serverEnv(home),
    stderr: "pipe",
  });
  let err = "";
  transport.stderr?.on("data", (chunk: Uint8Array | string) => {
    err += typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
  });
  const client = new Client({ name: "cmesh-test", version: "0" });
  await client.connect(transport);
  return { client, stderr: () => err, close: () => client.close() };
}

/** The text of a tool result's first content block. */
export function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.filter((c) => c.type === "text").map((c) => c.text ?? "").join("\n");
}

/** Calls a tool, collecting the progress notifications it sends. */
export async function callWithProgress(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<{ result: Awaited<ReturnType<Client["callTool"]>>; progress: Progress[] }> {
  const progress: Progress[] = [];
  const result = await client.callTool({ name, arguments: args }, undefined, {
    onprogress: (p) => progress.push(p),
    timeout: 120_000,
  });
  return { result, progress };
}
