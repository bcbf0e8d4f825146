/**
 * Test support: run a real `cmesh daemon` process (the same entry point and permission set as
 * `deno task cmesh`), wait until it is ready, and stop it.
 */
import { fileURLToPath } from "node:url";

/** Repo root (tests spawn `src/main.ts` from here so `-P=cmesh` finds deno.json). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The argv prefix that runs the cmesh CLI from source under the release permission set. */
export function cmeshArgs(...args: string[]): string[] {
  return ["run", "--no-prompt", "-P=cmesh", "src/main.ts", ...args];
}

/** Runs the CLI to completion. */
export async function runCmesh(
  args: string[],
  env: Record<string, string>,
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: cmeshArgs(...args),
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: dec(out.stdout), stderr: dec(out.stderr) };
}

/** A running daemon process. */
export interface DaemonProcess {
  home: string;
  child: Deno.ChildProcess;
  ready: { node: string; control: string; worker: string[] };
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM and wait (SIGKILL with `kill9`). */
  stop(kill9?: boolean): Promise<Deno.CommandStatus>;
}

/**
 * Starts `cmesh daemon` with `CMESH_HOME=home` (which must hold config.toml). `cmd` lets a
 * test wrap it (e.g. `["ip","netns","exec","ns1"]`).
 */
export async function startDaemon(
  home: string,
  opts: { demoCaller?: string; env?: Record<string, string>; wrap?: string[]; timeoutMs?: number } =
    {},
): Promise<DaemonProcess> {
  const args = cmeshArgs(
    "daemon",
    ...(opts.demoCaller ? ["--insecure-local-demo", opts.demoCaller] : []),
  );
  const argv = [...(opts.wrap ?? []), Deno.execPath(), ...args];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: REPO_ROOT,
    env: { CMESH_HOME: home, NO_COLOR: "1", ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let err = "";
  (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) err += chunk;
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let ready: DaemonProcess["ready"] | null = null;
  while (!ready) {
    const left = deadline - Date.now();
    const next = await Promise.race([
      reader.read(),
      new Promise<null>((r) => setTimeout(() => r(null), Math.max(0, left))),
    ]);
    if (next === null || next.done) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      throw new Error(`daemon did not become ready:\n${err}\n${buf}`);
    }
    buf += next.value;
    const line = buf.split("\n").find((l) => l.startsWith('{"ready"'));
    if (line) ready = JSON.parse(line);
  }
  // Keep draining stdout so the daemon never blocks on a full pipe.
  (async () => {
    try {
      for (;;) if ((await reader.read()).done) break;
    } catch { /* closed */ }
  })();
  return {
    home,
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

/** A temp dir removed by the returned function. */
export async function tempDir(
  prefix = "cmesh-test-",
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix });
  return { path, cleanup: () => Deno.remove(path, { recursive: true }).catch(() => {}) };
}

/** Makes a git repo with one committed file. */
export async function makeRepo(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/README.md`, "hello\nworld\n");
  const git = (...args: string[]) =>
    new Deno.Command("git", {
      args: ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args],
      cwd: dir,
      stdout: "null",
      stderr: "null",
    }).output();
  await git("init", "-q");
  await git("add", ".");
  await git("commit", "-qm", "init");
}
