/**
 * @module
 * Delegation overhead: `cmesh_delegate` with `wait_seconds` through a spawned `cmesh mcp`,
 * from the call until the tool returns the finished result, with the zero-work runner
 * (`/bin/echo`, sandboxed like any run), so the time is cmesh's own. Interleaved with it: the
 * same `/bin/echo` over ssh to a private OpenSSH server, fresh and multiplexed, with a clean
 * non-interactive shell. cmesh's time is split into phases using the audit timestamps both
 * daemons store (ms resolution).
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { cmeshArgs, REPO_ROOT } from "../../tests/support/daemon.ts";
import { createMesh, echoRunner, type MeshWorld } from "../../tests/support/mesh_world.ts";
import { RawMcpClient } from "./mcp_raw.ts";
import { startSshd } from "./sshd.ts";
import { CommandTimer } from "./command_timer.ts";
import { percentiles, type Summary } from "./stats.ts";

/** Results of {@link benchDelegation}. */
export interface DelegationResult {
  mode: string;
  runs: number;
  warmup: number;
  /** The headline: a git repository cwd (what an agent uses), evidence before and after. */
  repo_ms: Summary;
  /** A plain directory (no git work tree) beside it. */
  plain_ms: Summary;
  /**
   * The repository again, each time through a directory not delegated to before: no sandbox
   * started ahead for it (the first delegation into a cwd, or one after a minute of quiet).
   */
  repo_cold_ms?: Summary;
  /** The pause before each sample, so that each starts on a quiet machine. */
  settle_ms?: number;
  /** Where the repository runs spent their time (audit timestamps, ms resolution). */
  phases_ms: Record<string, Summary>;
  ssh: {
    /** A fresh connection per run. */
    fresh_ms: Summary;
    /** One kept-open multiplexed connection (`ControlMaster`/`ControlPersist`). */
    mux_ms: Summary;
    version: string;
    shell: string;
    /** Per interleaved sample: ssh time / cmesh (repository) time. Above 1: cmesh is faster. */
    ratio_fresh: Summary;
    ratio_mux: Summary;
  } | { skipped: string };
  failures: string[];
}

function mcpEnv(home: string): Record<string, string> {
  const env: Record<string, string> = { CMESH_HOME: home, NO_COLOR: "1" };
  for (const k of ["PATH", "HOME", "DENO_DIR"]) {
    const v = Deno.env.get(k);
    if (v) env[k] = v;
  }
  return env;
}

interface Delegated {
  id: string;
  startedAt: number;
  ms: number;
}

async function delegateOnce(
  mcp: RawMcpClient,
  cwd: string,
  prompt: string,
  failures: string[],
): Promise<Delegated> {
  const startedAt = Date.now();
  const t = performance.now();
  const r = await mcp.callTool("cmesh_delegate", {
    peer: "worker",
    task: prompt,
    cwd,
    runner: "zero",
    wait_seconds: 60,
  });
  const ms = performance.now() - t;
  const sc = r.structuredContent as {
    task_id?: string;
    state?: string;
    result?: { claims?: { final_text?: string | null } };
  } | undefined;
  if (sc?.state !== "succeeded" || sc.result?.claims?.final_text !== prompt) {
    failures.push(`${prompt}: ${JSON.stringify(r).slice(0, 300)}`);
  }
  return { id: sc?.task_id ?? "", startedAt, ms };
}

function phases(
  mesh: MeshWorld,
  runs: Delegated[],
): Record<string, Summary> {
  const wdb = new DatabaseSync(mesh.workerDb, { readOnly: true });
  const rdb = new DatabaseSync(mesh.requesterDb, { readOnly: true });
  const times = (db: DatabaseSync, id: string) =>
    Object.fromEntries(
      (db.prepare("SELECT kind, at FROM audit WHERE task_id = ?").all(id) as {
        kind: string;
        at: string;
      }[]).map((r) => [r.kind, Date.parse(r.at)]),
    );
  const acc: Record<string, number[]> = {};
  const add = (k: string, v: number) => Number.isFinite(v) && (acc[k] ??= []).push(v);
  for (const r of runs) {
    const req = times(rdb, r.id);
    const wrk = times(wdb, r.id);
    add("1 mcp → requester recorded", req["outbound.decision"] - r.startedAt);
    add("2 requester → worker admitted", wrk["task.decision"] - req["outbound.decision"]);
    add("3 admitted → running", wrk["task.start"] - wrk["task.decision"]);
    add("4 run (git, sandbox, spawn, echo, evidence)", wrk["task.finish"] - wrk["task.start"]);
    add("5 worker done → requester stored", req["outbound.finish"] - wrk["task.finish"]);
    add("6 requester stored → mcp answered", r.startedAt + r.ms - req["outbound.finish"]);
  }
  wdb.close();
  rdb.close();
  return Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, percentiles(v)]));
}

/**
 * The pause before each sample. Both sides do work after answering (the worker starts the next
 * run's sandbox ahead, sshd ends its session): without it that work would land in whichever
 * sample comes next. An agent's calls are seconds apart.
 */
const SETTLE_MS = 100;

/**
 * Runs the delegation benchmark on a fresh mesh: cmesh in a repository (and in a fresh directory
 * of it each time: a cold start), cmesh in a plain directory, a fresh ssh and a multiplexed ssh,
 * interleaved one by one (the order rotating), each after a pause, so all see the same machine
 * load; ratios come from those paired samples.
 */
export async function benchDelegation(
  opts: { runs: number; warmup: number; mode: "auto" | "netns" | "loopback" },
): Promise<DelegationResult> {
  const mesh = await createMesh({ mode: opts.mode, runners: { zero: echoRunner() } });
  const failures: string[] = [];
  const netns = mesh.mode === "netns";
  const sshd = await startSshd({
    dir: join(mesh.base, "sshd"),
    listen: netns ? "100.64.0.1" : "127.0.0.1",
    port: netns ? 22 : 20000 + Math.floor(Math.random() * 20000),
    wrap: mesh.wrapWorker(),
  });
  const timer = sshd.ok ? new CommandTimer(mesh.wrap()) : null;
  const mcp = new RawMcpClient(
    [...mesh.wrap(), Deno.execPath(), ...cmeshArgs("mcp")],
    mcpEnv(mesh.requesterHome),
    REPO_ROOT,
  );
  try {
    await mcp.initialize();
    const repo: Delegated[] = [];
    const cold: Delegated[] = [];
    const plain: Delegated[] = [];
    const fresh: number[] = [];
    const mux: number[] = [];
    const sshRun = async (argv: string[], into: number[], keep: boolean, what: string) => {
      const r = await timer!.time(argv);
      if (r.code !== 0 || r.out.trim() !== "bench") {
        failures.push(`${what}: exit ${r.code}: ${r.out.slice(0, 200)}`);
      }
      if (keep) into.push(r.ms);
    };
    const ops = [
      async (i: number, keep: boolean) => {
        const d = await delegateOnce(mcp, mesh.repo, `bench-repo-${i}`, failures);
        if (keep) repo.push(d);
      },
      async (i: number, keep: boolean) => {
        const d = await delegateOnce(mcp, mesh.plain, `bench-plain-${i}`, failures);
        if (keep) plain.push(d);
      },
      async (i: number, keep: boolean) => {
        // An empty directory: invisible to git, so the evidence is the repository's as above.
        const dir = join(mesh.repo, "cold", String(i));
        await Deno.mkdir(dir, { recursive: true });
        const d = await delegateOnce(mcp, dir, `bench-cold-${i}`, failures);
        if (keep) cold.push(d);
      },
      ...(sshd.ok
        ? [
          (_i: number, keep: boolean) =>
            sshRun(sshd.clientArgv(["/bin/echo", "bench"]), fresh, keep, "ssh"),
          (_i: number, keep: boolean) =>
            sshRun(sshd.muxArgv(["/bin/echo", "bench"]), mux, keep, "ssh mux"),
        ]
        : []),
    ];
    for (let i = 0; i < opts.warmup + opts.runs; i++) {
      const keep = i >= opts.warmup;
      for (let k = 0; k < ops.length; k++) {
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        await ops[(i + k) % ops.length](i, keep);
      }
    }
    const result: DelegationResult = {
      mode: mesh.mode,
      runs: opts.runs,
      warmup: opts.warmup,
      repo_ms: percentiles(repo.map((r) => r.ms)),
      plain_ms: percentiles(plain.map((r) => r.ms)),
      repo_cold_ms: percentiles(cold.map((r) => r.ms)),
      settle_ms: SETTLE_MS,
      phases_ms: phases(mesh, repo),
      ssh: { skipped: sshd.ok ? "" : sshd.reason },
      failures,
    };
    if (sshd.ok) {
      result.ssh = {
        fresh_ms: percentiles(fresh),
        mux_ms: percentiles(mux),
        version: sshd.version,
        shell: "/bin/sh as root's login shell, empty home (no start-up file)",
        ratio_fresh: percentiles(fresh.map((x, i) => x / repo[i].ms), 2),
        ratio_mux: percentiles(mux.map((x, i) => x / repo[i].ms), 2),
      };
    }
    return result;
  } finally {
    await mcp.close();
    await timer?.close();
    if (sshd.ok) await sshd.stop();
    await mesh.destroy();
  }
}
