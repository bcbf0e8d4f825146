/**
 * @module
 * Cold start of `cmesh mcp` (spawn → `initialize` answered) and the audit log's costs: one
 * append in its own transaction (as the daemons write them), appends batched in one
 * transaction, and `cmesh audit verify` over a log of many records (the CLI, end to end, plus
 * the in-process `verifyAudit` alone).
 */
import { join } from "node:path";
import { cmeshArgs, REPO_ROOT, runCmesh } from "../../tests/support/daemon.ts";
import { appendAudit } from "../../src/store/audit.ts";
import { verifyAudit } from "../../src/store/audit_verify.ts";
import { openStore } from "../../src/store/db.ts";
import { RawMcpClient } from "./mcp_raw.ts";
import { percentiles, type Summary } from "./stats.ts";

/** Results of {@link benchColdStart}. */
export interface ColdStartResult {
  runs: number;
  ms: Summary;
  how: string;
}

/** Spawns `cmesh mcp` `runs` times and times spawn → initialize answer. */
export async function benchColdStart(runs: number): Promise<ColdStartResult> {
  const home = await Deno.makeTempDir({ prefix: "cmesh-cold-" });
  const env: Record<string, string> = { CMESH_HOME: home, NO_COLOR: "1" };
  for (const k of ["PATH", "HOME", "DENO_DIR"]) {
    const v = Deno.env.get(k);
    if (v) env[k] = v;
  }
  const ms: number[] = [];
  try {
    for (let i = 0; i < runs + 1; i++) {
      const t = performance.now();
      const mcp = new RawMcpClient([Deno.execPath(), ...cmeshArgs("mcp")], env, REPO_ROOT);
      await mcp.initialize();
      const elapsed = performance.now() - t;
      await mcp.close();
      if (i > 0) ms.push(elapsed); // the first run also fills Deno's caches
    }
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
  return { runs, ms: percentiles(ms), how: `deno ${cmeshArgs("mcp").join(" ")}` };
}

/** Results of {@link benchAudit}. */
export interface AuditResult {
  /** µs per record, each append its own transaction (WAL, synchronous = NORMAL). */
  append_us: number;
  append_records: number;
  /** µs per record, 10,000 appends per transaction. */
  append_batched_us: number;
  verify_records: number;
  /** `cmesh audit verify` from spawn to exit (ms): the first run with a cold page cache. */
  verify_cli_ms: number;
  /** Every run (ms): cold first (when the cache could be dropped), then warm. */
  verify_runs_ms: number[];
  /** Whether the first run really started from a dropped page cache (needs root). */
  verify_cold: boolean;
  verify_cli_output: string;
  /** `verifyAudit` alone, in process (ms). */
  verify_inprocess_ms: number;
  db_mib: number;
}

const RECORD = (i: number) => ({
  kind: i % 3 === 0 ? "task.decision" : i % 3 === 1 ? "task.start" : "task.finish",
  task_id: `t-bench-${String(i).padStart(10, "0")}`,
  actor: {
    node: "laptop",
    stable_id: "nLAPTOPCNTRL",
    login: "alice@example.com",
    tags: [],
    source_ip: "100.64.0.2",
  },
  decision: i % 3 === 0 ? "allow" as const : null,
  rule: i % 3 === 0 ? "inbound.allow[0]" as const : null,
  reason: i % 3 === 0 ? "peer laptop may use profile query in /srv/app" : null,
  data: { profile: "query", runner: "claude", cwd: "/srv/app", prompt_bytes: 1234 },
});

/** Measures appends, then builds a `records`-long log and verifies it. */
export async function benchAudit(
  opts: { appends: number; records: number },
): Promise<AuditResult> {
  const home = await Deno.makeTempDir({ prefix: "cmesh-audit-bench-" });
  try {
    await Deno.writeTextFile(join(home, "config.toml"), '[node]\nname = "bench"\n');
    await Deno.mkdir(join(home, "state"), { recursive: true });
    const dbPath = join(home, "state", "cmesh.db");
    const store = openStore(dbPath);
    let t = performance.now();
    for (let i = 0; i < opts.appends; i++) appendAudit(store, RECORD(i));
    const appendUs = (performance.now() - t) * 1000 / opts.appends;
    t = performance.now();
    let i = opts.appends;
    const batchStart = i;
    while (i < opts.records) {
      const end = Math.min(opts.records, i + 10_000);
      store.transaction(() => {
        for (; i < end; i++) appendAudit(store, RECORD(i));
      });
    }
    const batchedUs = (performance.now() - t) * 1000 / Math.max(1, i - batchStart);
    store.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    t = performance.now();
    const report = verifyAudit(store);
    const inProcess = performance.now() - t;
    if (!report.ok || report.count !== opts.records) {
      throw new Error(`verify failed: ${JSON.stringify(report)}`);
    }
    store.close();
    // Cold: the kernel's page cache dropped (root only; the machine's other work refills it).
    let cold = false;
    try {
      await new Deno.Command("sync").output();
      await Deno.writeTextFile("/proc/sys/vm/drop_caches", "3");
      cold = true;
    } catch { /* not root: every run is warm */ }
    const runs: number[] = [];
    let cli = { code: 0, stdout: "", stderr: "" };
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      cli = await runCmesh(["audit", "verify"], { CMESH_HOME: home });
      runs.push(Math.round(performance.now() - t));
      if (cli.code !== 0) throw new Error(`cmesh audit verify failed: ${cli.stdout}${cli.stderr}`);
    }
    const cliMs = runs[0];
    return {
      append_us: Math.round(appendUs * 10) / 10,
      append_records: opts.appends,
      append_batched_us: Math.round(batchedUs * 10) / 10,
      verify_records: opts.records,
      verify_cli_ms: cliMs,
      verify_runs_ms: runs,
      verify_cold: cold,
      verify_cli_output: cli.stdout.trim().slice(0, 200),
      verify_inprocess_ms: Math.round(inProcess),
      db_mib: Math.round((await Deno.stat(dbPath)).size / 1048576),
    };
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
}
