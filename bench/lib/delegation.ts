/**
 * @module
 * Delegation overhead: `cmesh_delegate` with `wait_seconds` through a spawned `cmesh mcp`,
 * from the call until the tool returns the finished result, with the zero-work runner
 * (`/bin/echo`), so the time is cmesh's own. The same session also times a fresh `ssh` round
 * trip running the same `/bin/echo` on a private OpenSSH server, and splits cmesh's time into
 * phases using the audit timestamps both daemons store (ms resolution).
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { cmeshArgs, REPO_ROOT } from "../../tests/support/daemon.ts";
import { createMesh, echoRunner, type MeshWorld } from "../../tests/support/mesh_world.ts";
import { RawMcpClient } from "./mcp_raw.ts";
import { startSshd } from "./sshd.ts";
import { percentiles, type Summary, timeCommand } from "./stats.ts";

/** Results of {@link benchDelegation}. */
export interface DelegationResult {
  mode: string;
  runs: number;
  warmup: number;
  /** Non-git cwd: runner + ps sweep + one `git rev-parse`. */
  plain_ms: Summary;
  /** Git repository cwd: adds the git evidence before and after. */
  repo_ms: Summary;
  /** Where the plain runs spent their time (from audit timestamps, ms resolution). */
  phases_ms: Record<string, Summary>;
  ssh: {
    /** A fresh connection per run (what the comparison is about). */
    ms: Summary;
    /** One kept-open multiplexed connection (`ControlMaster`), for reference. */
    mux_ms: Summary;
    version: string;
    ratio_p50: number;
    ratio_p99: number;
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

async function delegateRuns(
  mcp: RawMcpClient,
  cwd: string,
  runs: number,
  failures: string[],
): Promise<{ id: string; startedAt: number; ms: number }[]> {
  const out = [];
  for (let i = 0; i < runs; i++) {
    const prompt = `bench-${i}`;
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
      failures.push(`run ${i}: ${JSON.stringify(r).slice(0, 300)}`);
    }
    out.push({ id: sc?.task_id ?? "", startedAt, ms });
  }
  return out;
}

function phases(
  mesh: MeshWorld,
  runs: { id: string; startedAt: number; ms: number }[],
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
    add("4 run (spawn, echo, sweep, evidence)", wrk["task.finish"] - wrk["task.start"]);
    add("5 worker done → requester stored", req["outbound.finish"] - wrk["task.finish"]);
    add("6 requester stored → mcp answered", r.startedAt + r.ms - req["outbound.finish"]);
  }
  wdb.close();
  rdb.close();
  return Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, percentiles(v)]));
}

/** Runs the delegation benchmark (and the ssh comparison) on a fresh mesh. */
export async function benchDelegation(
  opts: { runs: number; warmup: number; mode: "auto" | "netns" | "loopback" },
): Promise<DelegationResult> {
  const mesh = await createMesh({ mode: opts.mode, runners: { zero: echoRunner() } });
  const failures: string[] = [];
  try {
    const mcp = new RawMcpClient(
      [...mesh.wrap(), Deno.execPath(), ...cmeshArgs("mcp")],
      mcpEnv(mesh.requesterHome),
      REPO_ROOT,
    );
    let plain, repo;
    try {
      await mcp.initialize();
      await delegateRuns(mcp, mesh.plain, opts.warmup, failures);
      plain = await delegateRuns(mcp, mesh.plain, opts.runs, failures);
      repo = await delegateRuns(mcp, mesh.repo, opts.runs, failures);
    } finally {
      await mcp.close();
    }
    const result: DelegationResult = {
      mode: mesh.mode,
      runs: opts.runs,
      warmup: opts.warmup,
      plain_ms: percentiles(plain.map((r) => r.ms)),
      repo_ms: percentiles(repo.map((r) => r.ms)),
      phases_ms: phases(mesh, plain),
      ssh: { skipped: "" },
      failures,
    };
    const netns = mesh.mode === "netns";
    const sshd = await startSshd({
      dir: join(mesh.base, "sshd"),
      listen: netns ? "100.64.0.1" : "127.0.0.1",
      port: netns ? 22 : 20000 + Math.floor(Math.random() * 20000),
      wrap: mesh.wrapWorker(),
    });
    if (!sshd.ok) {
      result.ssh = { skipped: sshd.reason };
    } else {
      try {
        const argv = sshd.clientArgv(["/bin/echo", "bench"]);
        await timeCommand(mesh.wrap(), argv, 3);
        const t = await timeCommand(mesh.wrap(), argv, opts.runs);
        if (t.failures) failures.push(`ssh: ${t.failures} failed runs: ${t.firstOutput}`);
        const ms = percentiles(t.ms);
        const muxArgv = sshd.muxArgv(["/bin/echo", "bench"]);
        await timeCommand(mesh.wrap(), muxArgv, 3);
        const mux = await timeCommand(mesh.wrap(), muxArgv, opts.runs);
        if (mux.failures) failures.push(`ssh mux: ${mux.failures} failed runs: ${mux.firstOutput}`);
        result.ssh = {
          ms,
          mux_ms: percentiles(mux.ms),
          version: sshd.version,
          ratio_p50: Math.round(ms.p50 / result.plain_ms.p50 * 10) / 10,
          ratio_p99: Math.round(ms.p99 / result.plain_ms.p99 * 10) / 10,
        };
      } finally {
        await sshd.stop();
      }
    }
    return result;
  } finally {
    await mesh.destroy();
  }
}
