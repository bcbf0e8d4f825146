/**
 * @module
 * Test support, the one place tests start daemons: a cmesh home on disk (its `config.toml`
 * written from a typed config, its runner manifests) and a real `cmesh daemon` on it (the same
 * entry point and permission set as `deno task cmesh`), started, waited for and stopped. The
 * test worlds (`mesh_world.ts`, `tests/system/*_world.ts`, `tests/sandbox/_world.ts`,
 * `tests/mcp/_harness.ts`, `tests/mcp_clients/_world.ts`, `tests/tailnet/world.ts`) build on it.
 *
 * @example
 * ```ts
 * import { createNode, freePort, tempDir } from "./daemon.ts";
 * const dir = await tempDir();
 * const node = await createNode(dir.path, {
 *   config: { daemon: { control_port: freePort(), worker_port: freePort() } },
 * });
 * await node.start();
 * await node.stop();
 * await dir.cleanup();
 * ```
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "smol-toml";
import type { z } from "zod";
import type { Config } from "../../src/config/schema.ts";
import { spawnDaemon } from "../../src/daemon/spawn.ts";
import { denoRunArgs } from "../../src/util/deno_permissions.ts";
import { freePort as freeProductPort } from "../../src/util/free_ports.ts";
import { run } from "./proc.ts";

/** Repo root (tests spawn `src/main.ts` from here so Deno finds deno.json). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Where {@link freePort} claims its ports: one file per port, shared by every test process on
 * this machine (with `--parallel` the modules of one run are isolates of one process, and two runs
 * may go on at once, e.g. a nested `deno test` of tests/ci). Creating the file is the claim
 * (`createNew`: exactly one caller wins).
 */
const claimDir = join(Deno.env.get("TMPDIR") ?? "/tmp", "cmesh-test-ports");
let claimDirReady = false;

/**
 * A claim older than this belongs to a test run that has ended (a whole run takes well under it),
 * so its port may be handed out again. Liveness by age: Deno allows `/proc/<pid>` only with every
 * permission.
 */
export const CLAIM_TTL_MS = 2 * 3600_000;

/**
 * Claims `port` for this test run; false while another claim on it is younger than
 * {@link CLAIM_TTL_MS} (a stale one is removed and the port claimed).
 */
export function claimPort(port: number, now = Date.now()): boolean {
  if (!claimDirReady) {
    Deno.mkdirSync(claimDir, { recursive: true });
    claimDirReady = true;
  }
  const file = join(claimDir, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      Deno.openSync(file, { createNew: true, write: true }).close();
      return true;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    try {
      const mtime = Deno.statSync(file).mtime?.getTime() ?? now;
      if (now - mtime <= CLAIM_TTL_MS) return false;
      Deno.removeSync(file);
    } catch { /* another process took it over or removed it first: try once more */ }
  }
  return false;
}

/**
 * A free TCP port on 127.0.0.1 that no earlier call of this or another running test process
 * returned, drawn below the kernel's ephemeral range so that no `port: 0` listener or outgoing
 * connection takes it in the meantime (src/util/free_ports.ts). Two calls in a row may otherwise get the same port (the
 * first one's listener was closed), and a node whose control and worker ports are equal does not
 * start, nor do two daemons on one port.
 */
export function freePort(): number {
  return freeProductPort(claimPort);
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

/** How {@link startDaemon} starts the daemon. */
export interface StartOptions {
  /** `--insecure-local-demo <caller>`: every loopback caller is this node. */
  demoCaller?: string;
  env?: Record<string, string>;
  /** An argv prefix (e.g. `["ip","netns","exec","ns1"]`). */
  wrap?: string[];
  timeoutMs?: number;
  /** More `cmesh daemon` flags (e.g. `--local-only`). */
  args?: string[];
}

/** Starts `cmesh daemon` with `CMESH_HOME=home` (which must hold config.toml). */
export async function startDaemon(home: string, opts: StartOptions = {}): Promise<DaemonProcess> {
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

/** A `config.toml` as a test writes it: the config schema's input (defaults may be left out). */
export type ConfigInput = z.input<typeof Config>;

/** The TOML text of `config`. */
export function configToml(config: ConfigInput): string {
  return stringify(config);
}

/** What {@link createNode} writes into a home, and how its daemon starts. */
export interface NodeOptions extends StartOptions {
  config: ConfigInput;
  /** Runner manifests: name → TOML text, written to `runners/<name>.toml`. */
  runners?: Record<string, string>;
}

/** A cmesh home on disk and its daemon (not running until {@link CmeshNode.start}). */
export interface CmeshNode {
  /** `CMESH_HOME`. */
  home: string;
  configFile: string;
  /** The daemon's database (read it only after the daemon stopped). */
  dbPath: string;
  daemon: DaemonProcess | null;
  /** Starts the daemon (throws when it already runs). */
  start(): Promise<DaemonProcess>;
  /** SIGTERM (SIGKILL with `kill9`) and wait; nothing when it does not run. */
  stop(kill9?: boolean): Promise<void>;
  /** The control token (readable once the daemon started). */
  token(): Promise<string>;
}

/** Writes a home (config and runner manifests) and returns it with its daemon not started. */
export async function createNode(home: string, opts: NodeOptions): Promise<CmeshNode> {
  const { config, runners = {} } = opts;
  await Deno.mkdir(join(home, "runners"), { recursive: true });
  await Deno.writeTextFile(join(home, "config.toml"), configToml(config));
  for (const [name, toml] of Object.entries(runners)) {
    await Deno.writeTextFile(join(home, "runners", `${name}.toml`), toml);
  }
  const stateDir = config.daemon?.state_dir ?? join(home, "state");
  const node: CmeshNode = {
    home,
    configFile: join(home, "config.toml"),
    dbPath: join(stateDir, "cmesh.db"),
    daemon: null,
    async start() {
      if (node.daemon) throw new Error(`the daemon of ${home} already runs`);
      // `opts` itself, not a copy: a world may compute `wrap` only once its namespaces exist.
      node.daemon = await startDaemon(home, opts);
      return node.daemon;
    },
    async stop(kill9 = false) {
      const p = node.daemon;
      node.daemon = null;
      if (p) await p.stop(kill9);
    },
    token: () => controlToken(home, stateDir),
  };
  return node;
}

/** The control token of a daemon home (readable once the daemon started). */
export async function controlToken(home: string, stateDir = join(home, "state")): Promise<string> {
  return (await Deno.readTextFile(join(stateDir, "control.token"))).trim();
}

/**
 * Steps that undo what a test world built, run last-added first by {@link Teardown.run}, each
 * even when an earlier one failed; a second `run` does nothing.
 */
export class Teardown {
  #steps: (() => unknown)[] = [];
  #ran = false;

  /** Adds a step; returns `value` (so a built thing can be registered where it is made). */
  add<T>(value: T, step: (value: T) => unknown): T {
    this.#steps.push(() => step(value));
    return value;
  }

  /** Runs every step, newest first. */
  async run(): Promise<void> {
    if (this.#ran) return;
    this.#ran = true;
    for (const step of this.#steps.reverse()) {
      try {
        await step();
      } catch { /* the rest still runs */ }
    }
  }
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
