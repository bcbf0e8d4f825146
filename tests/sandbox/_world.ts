/**
 * @module
 * The world of the escape suite: a real `cmesh daemon` (loopback, local-demo identity) with one
 * runner, `sh`, whose "agent" executes its prompt as a `/bin/sh` script, every profile enabled,
 * two allowed roots, a secret in the worker user's HOME and a canary in the daemon's
 * environment. As root the daemon can be started as an ordinary user (`nobody`, through
 * `setpriv`), so the same attempts run with and without a user namespace.
 */
import { join } from "node:path";
import {
  type ConfigInput,
  createNode,
  type DaemonProcess,
  freePort,
  makeRepo,
} from "../support/daemon.ts";
import { shRunner } from "../support/mesh_world.ts";
import { mustRun, run } from "../support/proc.ts";

/** Every profile, and the profiles whose runs may write in the cwd. */
export const PROFILES = ["query", "edit", "build", "full"] as const;

/** Who the daemon runs as. */
export type WorldUser = "root" | "user";

/** A running escape-suite world. */
export interface EscapeWorld {
  user: WorldUser;
  base: string;
  home: string;
  stateDir: string;
  /** The allowed root the tasks run in (a git repository). */
  repo: string;
  /** A second allowed root: no task running in `repo` may see it. */
  otherRoot: string;
  /** A directory outside every root. */
  outside: string;
  /** A secret file in the worker user's HOME. */
  secret: string;
  /** A value only the daemon's environment holds. */
  canary: string;
  workerUrl: string;
  controlPort: number;
  daemon: DaemonProcess;
  /** Stops the daemon (SIGKILL with `kill9`) and starts it again on the same state. */
  restart(kill9: boolean): Promise<void>;
  /** Submits a task as the demo caller. */
  submit(id: string, profile: string, prompt: string): Promise<Response>;
  /** Polls until the task is terminal; returns its result. */
  result(id: string): Promise<TaskResultBody>;
  cancel(id: string): Promise<Response>;
  destroy(): Promise<void>;
}

/** The parts of a task result the suite reads. */
export interface TaskResultBody {
  state: string;
  claims: { final_text: string | null };
  evidence: { git: { changed_files: string[] } | null; stderr_tail: string } | null;
  error: { code: string; message: string } | null;
}

/** The ordinary user the daemon runs as in `user` mode (as root), and its ids. */
const ORDINARY = { name: "nobody", uid: 65534, gid: 65534 };

/** Why `user` mode cannot run here, or null. */
export function userModeSkipReason(): string | null {
  if (Deno.build.os !== "linux") return "the sandbox suite needs Linux";
  try {
    Deno.statSync("/usr/bin/setpriv");
  } catch {
    return "setpriv (util-linux) is missing";
  }
  return Deno.uid() === 0 ? null : "needs root to start the daemon as another user";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Builds and starts the world; `user` runs the daemon as `nobody` (root only). */
export async function createEscapeWorld(
  user: WorldUser,
  opts: {
    /**
     * `[runners.sh]` (default `egress = "host"`: the suite's network attempts then meet
     * today's network, so what refuses them is the rest of the sandbox; the egress suite sets
     * `"model"`/`"none"`).
     */
    runner?: NonNullable<ConfigInput["runners"]>[string];
  } = {},
): Promise<EscapeWorld> {
  // Not under /tmp: inside the sandbox /tmp is the run's private tmp.
  const base = await Deno.realPath(
    await Deno.makeTempDir({ dir: "/var/tmp", prefix: "cmesh-escape-" }),
  );
  await Deno.chmod(base, 0o755);
  const home = join(base, "home");
  const repo = join(base, "roots", "repo");
  const otherRoot = join(base, "roots2", "other");
  const outside = join(base, "outside");
  for (const d of [home, otherRoot, outside]) await Deno.mkdir(d, { recursive: true });
  await makeRepo(repo);
  const secret = join(home, "secret.txt");
  await Deno.writeTextFile(secret, "TOP-SECRET-home\n", { mode: 0o600 });
  await Deno.writeTextFile(join(otherRoot, "other.txt"), "TOP-SECRET-other-root\n");
  const canary = `CANARY-${crypto.randomUUID()}`;
  const env: Record<string, string> = { HOME: home, CMESH_ESCAPE_CANARY: canary };
  let wrap: string[] = [];
  if (user === "user" && Deno.uid() === 0) {
    // The daemon and everything it owns belong to an ordinary user; its Deno cache too.
    const denoDir = "/var/tmp/cmesh-escape-deno-cache";
    await Deno.mkdir(denoDir, { recursive: true });
    env.DENO_DIR = denoDir;
    wrap = [
      "/usr/bin/setpriv",
      `--reuid=${ORDINARY.uid}`,
      `--regid=${ORDINARY.gid}`,
      "--clear-groups",
    ];
  }
  const port = freePort();
  const controlPort = freePort();
  const node = await createNode(join(base, "cmesh"), {
    demoCaller: "laptop",
    env,
    wrap,
    timeoutMs: 120_000,
    runners: { sh: shRunner("sh", 300, PROFILES) },
    config: {
      node: { name: "worker" },
      daemon: { worker_port: port, control_port: controlPort, log_level: "warning" },
      inbound: {
        enabled: true,
        max_concurrent: 4,
        allow: [{
          peers: ["laptop"],
          profiles: [...PROFILES],
          cwd: [join(base, "roots"), join(base, "roots2")],
          runners: ["sh"],
        }],
      },
      profiles: { edit: { enabled: true }, build: { enabled: true }, full: { enabled: true } },
      runners: {
        claude: { enabled: false },
        codex: { enabled: false },
        sh: opts.runner ?? { egress: "host" },
      },
    },
  });
  if (wrap.length > 0) {
    await mustRun(["chown", "-R", `${ORDINARY.uid}:${ORDINARY.gid}`, base, env.DENO_DIR]);
  }
  let daemon: DaemonProcess;
  try {
    daemon = await node.start();
  } catch (e) {
    await Deno.remove(base, { recursive: true }).catch(() => {});
    throw e;
  }
  const workerUrl = `http://127.0.0.1:${port}`;
  const world: EscapeWorld = {
    user,
    base,
    home,
    stateDir: join(node.home, "state"),
    repo,
    otherRoot,
    outside,
    secret,
    canary,
    workerUrl,
    controlPort,
    daemon,
    async restart(kill9) {
      await node.stop(kill9);
      world.daemon = await node.start();
    },
    submit: (id, profile, prompt) =>
      fetch(`${workerUrl}/v1/tasks`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id, prompt, cwd: repo, profile, runner: "sh", timeout_s: 300 }),
      }),
    async result(id) {
      for (;;) {
        const r = await fetch(`${workerUrl}/v1/tasks/${id}/result`);
        const body = await r.json() as { result?: TaskResultBody };
        if (r.status === 200 && body.result) return body.result;
        await sleep(100);
      }
    },
    cancel: (id) => fetch(`${workerUrl}/v1/tasks/${id}/cancel`, { method: "POST" }),
    async destroy() {
      await node.stop().catch(() => {});
      await run(["rm", "-rf", base]);
    },
  };
  return world;
}
