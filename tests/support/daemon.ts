/**
 * Test support: run a real `cmesh daemon` process (the same entry point and permission set as
 * `deno task cmesh`), wait until it is ready, and stop it.
 */
import { fileURLToPath } from "node:url";
import { spawnDaemon } from "../../src/daemon/spawn.ts";
import { denoRunArgs } from "../../src/util/deno_permissions.ts";
import { run } from "./proc.ts";

/** Repo root (tests spawn `src/main.ts` from here so Deno finds deno.json). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * The argv (after `deno`) that runs the cmesh CLI from source with the release permission
 * flags, as `deno task cmesh` does (src/util/deno_permissions.ts).
 */
export function cmeshArgs(...args: string[]): string[] {
  return denoRunArgs("src/main.ts", args);
}

/** Runs the CLI to completion. */
export async function runCmesh(
  args: string[],
  env: Record<string, string>,
  stdin?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await run([Deno.execPath(), ...cmeshArgs(...args)], {
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", ...env },
    stdin,
  });
  return { code, stdout, stderr };
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
  opts: {
    demoCaller?: string;
    env?: Record<string, string>;
    wrap?: string[];
    timeoutMs?: number;
    /** More `cmesh daemon` flags (e.g. `--local-only`). */
    args?: string[];
  } = {},
): Promise<DaemonProcess> {
  const args = cmeshArgs(
    "daemon",
    ...(opts.demoCaller ? ["--insecure-local-demo", opts.demoCaller] : []),
    ...(opts.args ?? []),
  );
  const argv = [...(opts.wrap ?? []), Deno.execPath(), ...args];
  const d = await spawnDaemon({
    bin: argv[0],
    args: argv.slice(1),
    cwd: REPO_ROOT,
    env: { CMESH_HOME: home, NO_COLOR: "1", ...opts.env },
    timeoutMs: opts.timeoutMs,
  });
  return { home, ...d };
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
