/**
 * @module
 * Test support: the SDK's MCP client driving a spawned `cmesh mcp` over stdio (optionally
 * inside a network namespace), as a coding agent would.
 *
 * @example
 * ```ts
 * import { connectMcp, textOf } from "./mcp_session.ts";
 * const mcp = await connectMcp("/tmp/cmesh-home");
 * const peers = textOf(await mcp.call("cmesh_peers", {}));
 * await mcp.close();
 * ```
 */
import { Client, type Progress, StdioClientTransport } from "../../src/deps/mcp_client.ts";
import { cmeshArgs, REPO_ROOT } from "./daemon.ts";

/** What one tool call answered. */
export type ToolAnswer = Awaited<ReturnType<Client["callTool"]>>;

/** An MCP client connected to a spawned `cmesh mcp`. */
export interface McpSession {
  client: Client;
  /** Calls a tool (no progress token). */
  call(name: string, args: Record<string, unknown>): Promise<ToolAnswer>;
  /** Calls a tool with a progress token, collecting the notifications. */
  callWithProgress(
    name: string,
    args: Record<string, unknown>,
  ): Promise<{ result: ToolAnswer; progress: Progress[] }>;
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

/** Spawns `cmesh mcp` with `CMESH_HOME=home` (behind the argv prefix `wrap`) and connects. */
export async function connectMcp(home: string, wrap: string[] = []): Promise<McpSession> {
  const argv = [...wrap, Deno.execPath(), ...cmeshArgs("mcp")];
  const transport = new StdioClientTransport({
    command: argv[0],
    args: argv.slice(1),
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
  return {
    client,
    call: (name, args) =>
      client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 }),
    async callWithProgress(name, args) {
      const progress: Progress[] = [];
      const result = await client.callTool({ name, arguments: args }, undefined, {
        onprogress: (p) => progress.push(p),
        timeout: 120_000,
      });
      return { result, progress };
    },
    stderr: () => err,
    close: () => client.close(),
  };
}

/** The text of a tool result's text blocks. */
export function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.filter((c) => c.type === "text").map((c) => c.text ?? "").join("\n");
}
