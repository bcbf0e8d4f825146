/**
 * @module
 * Starting a `cmesh daemon` as a child process and waiting for its ready line (the JSON line
 * `{"ready":true,...}` it prints on stdout once both APIs listen). Used by `cmesh demo` and the
 * tests, so both start daemons exactly the same way, with {@link DAEMON_ENV} for what neither the
 * caller's `env` nor this process's environment sets.
 *
 * @example
 * ```ts
 * const home = await Deno.makeTempDir();
 * const d = await spawnDaemon({ bin: "cmesh", args: ["daemon"], env: { CMESH_HOME: home } });
 * console.log(d.ready.control);
 * await d.stop();
 * ```
 */
import { DAEMON_ENV } from "../util/deno_permissions.ts";

/** The ready line a daemon prints on stdout. */
export interface DaemonReady {
  ready: true;
  node: string;
  control: string;
  worker: string[];
}

/** A running daemon child. */
export interface SpawnedDaemon {
  child: Deno.ChildProcess;
  ready: DaemonReady;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM (or SIGKILL) and wait for the exit status. */
  stop(kill9?: boolean): Promise<Deno.CommandStatus>;
}

/** The {@link DAEMON_ENV} entries this process's environment does not set (a user's own wins). */
function unsetDaemonEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(DAEMON_ENV).filter(([k]) => Deno.env.get(k) === undefined),
  );
}

/** Spawns the daemon; rejects with its stderr if it exits or stays silent past `timeoutMs`. */
export async function spawnDaemon(opts: {
  bin: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}): Promise<SpawnedDaemon> {
  const child = new Deno.Command(opts.bin, {
    args: opts.args,
    cwd: opts.cwd,
    env: { ...unsetDaemonEnv(), ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let err = "";
  (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) err += chunk;
  })().catch(() => {});
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let ready: DaemonReady | null = null;
  while (!ready) {
    const next = await Promise.race([
      reader.read(),
      new Promise<null>((r) => setTimeout(() => r(null), Math.max(0, deadline - Date.now()))),
    ]);
    if (next === null || next.done) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      throw new Error(`the daemon did not become ready:\n${err}${buf}`);
    }
    buf += next.value;
    const line = buf.split("\n").find((l) => l.startsWith('{"ready"'));
    if (line) ready = JSON.parse(line) as DaemonReady;
  }
  // Keep draining stdout so the daemon never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return {
    child,
    ready,
    stderr: () => err,
    async stop(kill9 = false) {
      try {
        child.kill(kill9 ? "SIGKILL" : "SIGTERM");
      } catch { /* already gone */ }
      return await child.status;
    },
  };
}
