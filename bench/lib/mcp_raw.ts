/**
 * @module
 * A minimal MCP client for benchmarks: newline-delimited JSON-RPC over the stdio of a spawned
 * `cmesh mcp`. It does no schema work of its own, so the time it measures is the server's and
 * the daemons', not the client library's (the SDK client validates every `structuredContent`
 * against the tool's output schema, which costs it several ms per call).
 *
 * @example
 * ```ts
 * import { RawMcpClient } from "./mcp_raw.ts";
 * const mcp = new RawMcpClient(["deno", ...cmeshArgs("mcp")], { CMESH_HOME: "/x" }, "/repo");
 * await mcp.initialize();
 * const r = await mcp.callTool("cmesh_peers", {});
 * await mcp.close();
 * ```
 */

interface JsonRpcAnswer {
  id?: number;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

/** A spawned MCP server over stdio. */
export class RawMcpClient {
  readonly child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #waiting = new Map<number, (a: JsonRpcAnswer) => void>();
  #nextId = 0;
  #stderr = "";
  #closed: Promise<void>;

  constructor(argv: string[], env: Record<string, string>, cwd: string) {
    this.child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      env,
      clearEnv: true,
      cwd,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.child.stdin.getWriter();
    this.#closed = this.#read();
    const stderr = this.child.stderr;
    (async () => {
      for await (const c of stderr.pipeThrough(new TextDecoderStream())) {
        this.#stderr = (this.#stderr + c).slice(-20_000);
      }
    })();
  }

  async #read(): Promise<void> {
    let buf = "";
    for await (const chunk of this.child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        const msg = JSON.parse(line) as JsonRpcAnswer;
        if (msg.id !== undefined) {
          this.#waiting.get(msg.id)?.(msg);
          this.#waiting.delete(msg.id);
        }
      }
    }
  }

  /** What the server wrote to stderr (last 20 kB). */
  stderr(): string {
    return this.#stderr;
  }

  async #send(msg: unknown): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(msg) + "\n"));
  }

  /** Sends a request and waits for its answer (rejects on a JSON-RPC error). */
  async request(method: string, params: unknown): Promise<Record<string, unknown>> {
    const id = ++this.#nextId;
    const answer = new Promise<JsonRpcAnswer>((resolve) => this.#waiting.set(id, resolve));
    await this.#send({ jsonrpc: "2.0", id, method, params });
    const a = await Promise.race([
      answer,
      this.#closed.then((): JsonRpcAnswer => ({
        error: { code: -1, message: `server exited: ${this.#stderr.slice(-2000)}` },
      })),
    ]);
    if (a.error) throw new Error(`${method}: ${a.error.message}`);
    return a.result ?? {};
  }

  /** `initialize` + `notifications/initialized`; returns the server's answer. */
  async initialize(): Promise<Record<string, unknown>> {
    const r = await this.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "cmesh-bench", version: "0" },
    });
    await this.#send({ jsonrpc: "2.0", method: "notifications/initialized" });
    return r;
  }

  /** `tools/call`; returns the tool result (`content`, `structuredContent`, `isError`). */
  callTool(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.request("tools/call", { name, arguments: args });
  }

  /** Closes stdin and waits for the server to exit (SIGKILL after 5 s). */
  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5000);
    await this.child.status;
    clearTimeout(timer);
    await this.#closed.catch(() => {});
  }
}
