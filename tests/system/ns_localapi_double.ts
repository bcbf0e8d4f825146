/**
 * @module
 * The LocalAPI double (`tests/support/localapi_double.ts`) run as its own process inside a
 * network namespace (as tailscaled would run next to the worker), with a line-based control
 * channel on stdin/stdout: the request log, injected failures and bodies, stop/start. Run as a
 * program, this module is that process:
 * `deno run -A tests/system/ns_localapi_double.ts --socket P --config C`.
 *
 * @example
 * ```ts
 * import { startNsLocalApiDouble } from "./ns_localapi_double.ts";
 * const api = await startNsLocalApiDouble("cmt-1a2b3c4d-w", "/tmp/x/ts.sock", {
 *   self: { name: "worker", ips: ["100.64.0.1"], tags: ["tag:worker"] },
 * }, "/tmp/x/double.json");
 * await api.failNext(500);
 * await api.close();
 * ```
 */
import { startLocalApiDouble } from "../support/localapi_double.ts";
import type { DoubleConfig, LocalApiDouble, RecordedRequest } from "../support/localapi_double.ts";
import { REPO_ROOT } from "../support/daemon.ts";
import { ipBinary } from "../support/netns.ts";

/** Commands of the control channel (one JSON object per stdin line). */
type ControlCommand =
  | { cmd: "requests" }
  | { cmd: "fail"; status: number; count?: number }
  | { cmd: "respond"; status: number; body: string }
  | { cmd: "stop" }
  | { cmd: "start" }
  | { cmd: "update"; patch: Partial<DoubleConfig> }
  | { cmd: "notify"; notify: Record<string, unknown> }
  | { cmd: "watchers" };

/** A LocalAPI double running in its own process (e.g. inside the worker namespace). */
export interface NsLocalApiDouble {
  socketPath: string;
  pid: number;
  /** Every request the double received so far, in order. */
  requests(): Promise<RecordedRequest[]>;
  /** Answer the next `count` requests with `status` (tailscaled-like text body). */
  failNext(status: number, count?: number): Promise<void>;
  /** Answer the next request with exactly this body (e.g. malformed JSON). */
  respondNext(status: number, body: string): Promise<void>;
  /** Stop listening (the socket file disappears): the LocalAPI is down. */
  pause(): Promise<void>;
  /** Listen again with the same config (the request log continues). */
  resume(): Promise<void>;
  /** Changes what the double serves and tells IPN bus watchers (as tailscaled would). */
  update(patch: Partial<DoubleConfig>): Promise<void>;
  /** Sends one raw notification to the IPN bus watchers. */
  notify(n: Record<string, unknown>): Promise<void>;
  /** IPN bus streams open now. */
  watchers(): Promise<number>;
  /** Ends the process. */
  close(): Promise<void>;
}

/** A reader of newline-separated text from a byte stream. */
class Lines {
  #reader: ReadableStreamDefaultReader<string>;
  #buf = "";
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }
  async next(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.#buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        return line;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        this.#reader.read(),
        new Promise<null>((r) => {
          timer = setTimeout(() => r(null), Math.max(0, deadline - Date.now()));
        }),
      ]);
      clearTimeout(timer);
      if (chunk === null) throw new Error(`no line within ${timeoutMs} ms`);
      if (chunk.done) throw new Error("stream ended");
      this.#buf += chunk.value;
    }
  }
}

/**
 * Starts the LocalAPI double as a process inside namespace `ns` (via `ip netns exec`), serving
 * `config` on the unix socket `socketPath`, and waits for its ready line.
 */
export async function startNsLocalApiDouble(
  ns: string,
  socketPath: string,
  config: DoubleConfig,
  configFile: string,
): Promise<NsLocalApiDouble> {
  await Deno.writeTextFile(configFile, JSON.stringify(config, null, 2));
  const self = new URL(import.meta.url).pathname;
  const child = new Deno.Command(ipBinary()!, {
    args: [
      "netns",
      "exec",
      ns,
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      self,
      "--socket",
      socketPath,
      "--config",
      configFile,
    ],
    cwd: REPO_ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).spawn();
  const lines = new Lines(child.stdout);
  const writer = child.stdin.getWriter();
  let chain: Promise<unknown> = Promise.resolve();
  const call = (c: ControlCommand): Promise<Record<string, unknown>> => {
    const p = chain.then(async () => {
      await writer.write(new TextEncoder().encode(JSON.stringify(c) + "\n"));
      const reply = JSON.parse(await lines.next(10_000)) as Record<string, unknown>;
      if (reply.error) throw new Error(`double: ${reply.error}`);
      return reply;
    });
    chain = p.catch(() => {});
    return p;
  };
  try {
    const ready = JSON.parse(await lines.next(30_000));
    if (!ready.ready) throw new Error(`unexpected first line from the double: ${ready}`);
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    throw new Error(`the LocalAPI double did not start in ${ns}: ${(e as Error).message}`);
  }
  let closed = false;
  return {
    socketPath,
    pid: child.pid,
    requests: async () => (await call({ cmd: "requests" })).requests as RecordedRequest[],
    failNext: async (status, count = 1) => void await call({ cmd: "fail", status, count }),
    respondNext: async (status, body) => void await call({ cmd: "respond", status, body }),
    pause: async () => void await call({ cmd: "stop" }),
    resume: async () => void await call({ cmd: "start" }),
    update: async (patch) => void await call({ cmd: "update", patch }),
    notify: async (notify) => void await call({ cmd: "notify", notify }),
    watchers: async () => (await call({ cmd: "watchers" })).watchers as number,
    async close() {
      if (closed) return;
      closed = true;
      await writer.close().catch(() => {});
      const done = await Promise.race([
        child.status.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 5000)),
      ]);
      if (!done) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
        await child.status;
      }
    },
  };
}

/** Program mode: the double plus its control channel (stdin commands, stdout replies). */
async function doubleMain(args: string[]): Promise<void> {
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`);
    if (i < 0 || i + 1 >= args.length) throw new Error(`missing --${name}`);
    return args[i + 1];
  };
  const socketPath = opt("socket");
  let config = JSON.parse(await Deno.readTextFile(opt("config"))) as DoubleConfig;
  const log: RecordedRequest[] = [];
  let api: LocalApiDouble | null = null;
  const start = async () => {
    api = await startLocalApiDouble({ ...config, socketPath });
  };
  const stop = async () => {
    if (!api) return;
    log.push(...api.requests);
    await api.stop();
    await Deno.remove(socketPath).catch(() => {});
    api = null;
  };
  await start();
  const reply = (o: unknown) => console.log(JSON.stringify(o));
  reply({ ready: true, socket: socketPath, pid: Deno.pid });
  const lines = new Lines(Deno.stdin.readable);
  for (;;) {
    let line: string;
    try {
      line = await lines.next(24 * 3600_000);
    } catch {
      break; // stdin closed: the test is done with us
    }
    if (!line.trim()) continue;
    try {
      const c = JSON.parse(line) as ControlCommand;
      const current = api as LocalApiDouble | null;
      if (c.cmd === "requests") reply({ requests: [...log, ...(current?.requests ?? [])] });
      else if (c.cmd === "fail") {
        if (!current) throw new Error("not listening");
        for (let i = 0; i < (c.count ?? 1); i++) current.failNext(c.status);
        reply({ ok: true });
      } else if (c.cmd === "respond") {
        if (!current) throw new Error("not listening");
        current.respondNext({ status: c.status, body: c.body });
        reply({ ok: true });
      } else if (c.cmd === "stop") {
        await stop();
        reply({ ok: true });
      } else if (c.cmd === "update") {
        config = { ...config, ...c.patch };
        current?.update(c.patch);
        reply({ ok: true });
      } else if (c.cmd === "notify") {
        current?.notify(c.notify);
        reply({ ok: true });
      } else if (c.cmd === "watchers") {
        reply({ watchers: current?.watchers ?? 0 });
      } else if (c.cmd === "start") {
        if (!current) await start();
        reply({ ok: true });
      } else reply({ error: `unknown command ${JSON.stringify(c)}` });
    } catch (e) {
      reply({ error: (e as Error).message });
    }
  }
  await stop();
  Deno.exit(0);
}

if (import.meta.main) await doubleMain(Deno.args);
