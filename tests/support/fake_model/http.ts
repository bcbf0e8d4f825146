/**
 * @module
 * HTTP and program plumbing shared by the fake model server (`server.ts`, `main.ts`) and the
 * front in front of it (`../fake_model_front.ts`): JSON answers, reading a request body,
 * listening on a local port, and running as a program that prints its address and serves until
 * SIGINT/SIGTERM.
 *
 * @example
 * ```ts
 * import { jsonResponse, listenLocal } from "./http.ts";
 * const l = await listenLocal({}, () => jsonResponse(200, { ok: true }));
 * await l.server.shutdown();
 * ```
 */
/** A JSON answer. */
export function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** A request's body: its text ("" for GET/HEAD), and the parsed JSON, the raw text, or null. */
export async function readRequestBody(req: Request): Promise<{ text: string; body: unknown }> {
  const text = req.method === "GET" || req.method === "HEAD" ? "" : await req.text();
  let body: unknown = null;
  if (text !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { text, body };
}

/** A server listening on {@link listenLocal}'s address. */
export interface Listening {
  server: Deno.HttpServer<Deno.NetAddr>;
  /** `http://HOST:PORT` (an IPv6 host in brackets). */
  url: string;
  port: number;
}

/** Serves `handle` on `host` (default 127.0.0.1) and `port` (default 0: a free port). */
export async function listenLocal(
  opts: { host?: string; port?: number },
  handle: (req: Request) => Response | Promise<Response>,
): Promise<Listening> {
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: opts.host ?? "127.0.0.1",
    port: opts.port ?? 0,
    onListen: (addr) => listening.resolve(addr as Deno.NetAddr),
  }, handle);
  const addr = await listening.promise;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return { server, url: `http://${host}:${addr.port}`, port: addr.port };
}

/** The command-line options both fake model programs take (`parseArgs` syntax). */
export const PROGRAM_OPTIONS = {
  script: { type: "string" as const },
  host: { type: "string" as const, default: "127.0.0.1" },
  port: { type: "string" as const, default: "0" },
  log: { type: "string" as const },
  var: { type: "string" as const, multiple: true as const, default: [] as string[] },
};

/** The `--script` a program was given; without one, prints `usage` and exits 2. */
export function requireScript(script: string | undefined, usage: string): string {
  if (script) return script;
  console.error(`usage: ${usage}`);
  Deno.exit(2);
}

/** `name=value` strings as pairs; an entry without a name before its `=` is dropped. */
export function keyValuePairs(list: readonly string[]): [string, string][] {
  return list.flatMap((kv): [string, string][] => {
    const at = kv.indexOf("=");
    return at > 0 ? [[kv.slice(0, at), kv.slice(at + 1)]] : [];
  });
}

/**
 * Prints `{"listening":"http://127.0.0.1:PORT","port":PORT}` (the line test harnesses wait
 * for) and closes the server and exits 0 on SIGINT or SIGTERM.
 */
export function announceUntilSignal(running: {
  url: string;
  port: number;
  close(): Promise<void>;
}): void {
  console.log(JSON.stringify({ listening: running.url, port: running.port }));
  const stop = async () => {
    await running.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
