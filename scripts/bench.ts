/**
 * @module
 * `deno task bench`: measures cmesh's own costs on this machine and prints a table, then
 * writes the numbers as JSON (default `bench/results.json`). See docs/performance.md for what
 * each number means.
 *
 * ```
 * deno task bench                      # everything, full sizes (a few minutes)
 * deno task bench --quick              # smaller samples, for a quick look
 * deno task bench --only delegation,memory --out bench/results/try.json
 * deno task bench --mode loopback      # two daemons on 127.0.0.1 even when root
 * ```
 *
 * Sections: `delegation` (MCP `cmesh_delegate` with wait, p50/p95/p99, and a fresh `ssh`
 * round trip for comparison), `admission` (submissions/s, 50 clients), `memory` (daemon RSS
 * idle, streaming 200 MiB, 1,000 queued), `coldstart` (`cmesh mcp` spawn → initialize),
 * `audit` (append cost, `cmesh audit verify` of 1M records), `sandbox` (bwrap's added time per
 * run: `/usr/bin/true` bare vs in a `query` run's sandbox, interleaved). Nothing here asserts
 * timings.
 */
import { parseArgs } from "node:util";
import { benchDelegation, type DelegationResult } from "../bench/lib/delegation.ts";
import {
  type AdmissionResult,
  benchAdmission,
  benchMemory,
  type MemoryResult,
} from "../bench/lib/load.ts";
import { benchSandbox, type SandboxResult } from "../bench/lib/sandbox.ts";
import { machine } from "../bench/lib/stats.ts";
import {
  type AuditResult,
  benchAudit,
  benchColdStart,
  type ColdStartResult,
} from "../bench/lib/startup_audit.ts";

/** How the numbers were taken (written into the JSON next to them). */
const NOTES = {
  setup: "two daemons on one machine: the worker in a network namespace at 100.64.0.1 with a " +
    "LocalAPI double for whois, the requester in another at 100.64.0.2 (root); loopback with " +
    "the local-demo identity otherwise (see mode)",
  runner: "zero work: a custom manifest running /bin/echo <prompt>, output = text",
  client: "a minimal JSON-RPC client over the stdio of `cmesh mcp` (no SDK-side schema work)",
  ssh: "a private sshd (key auth) next to the worker; `ssh host /bin/echo bench`, fresh " +
    "connection per run; multiplexed = one ControlMaster connection kept open",
  memory: "ps -o rss= of the worker daemon process (main thread + sandboxed worker thread)",
};

const SECTIONS = ["delegation", "admission", "memory", "coldstart", "audit", "sandbox"] as const;
type Section = typeof SECTIONS[number];

interface Results {
  machine: Awaited<ReturnType<typeof machine>>;
  notes: Record<string, string>;
  options: Record<string, unknown>;
  delegation?: DelegationResult;
  admission?: AdmissionResult;
  memory?: MemoryResult;
  coldstart?: ColdStartResult;
  audit?: AuditResult;
  sandbox?: SandboxResult | null;
  rows: Row[];
  seconds: number;
}

interface Row {
  metric: string;
  value: string;
  target: string;
  met: "yes" | "NO" | "";
}

function rows(r: Results): Row[] {
  const out: Row[] = [];
  const row = (metric: string, value: string, target = "", ok?: boolean) =>
    out.push({ metric, value, target, met: ok === undefined ? "" : ok ? "yes" : "NO" });
  const d = r.delegation;
  if (d) {
    const p = d.plain_ms;
    row(`delegate+wait p50 (${d.runs} runs, ${d.mode})`, `${p.p50} ms`, "≤ 15 ms", p.p50 <= 15);
    row("delegate+wait p95", `${p.p95} ms`);
    row("delegate+wait p99", `${p.p99} ms`, "≤ 50 ms", p.p99 <= 50);
    row(
      "  in a git repo (evidence) p50 / p99",
      `${d.repo_ms.p50} / ${d.repo_ms.p99} ms`,
    );
    for (const [k, s] of Object.entries(d.phases_ms)) {
      row(`  phase ${k} p50/p95`, `${s.p50} / ${s.p95} ms`);
    }
    if ("skipped" in d.ssh) row("fresh ssh round trip", `skipped: ${d.ssh.skipped}`);
    else {
      row("fresh ssh round trip p50 / p99", `${d.ssh.ms.p50} / ${d.ssh.ms.p99} ms`);
      row("  ratio ssh / cmesh (p50, p99)", `${d.ssh.ratio_p50}× / ${d.ssh.ratio_p99}×`);
      row("  ssh multiplexed (ControlMaster) p50", `${d.ssh.mux_ms.p50} ms`);
    }
  }
  const a = r.admission;
  if (a) {
    row(
      `admission, ${a.clients} clients (${a.submissions} tasks)`,
      `${a.per_second} /s`,
      "≥ 500 /s",
      a.per_second >= 500,
    );
  }
  const m = r.memory;
  if (m) {
    const parts = m.worker_idle_parts
      ? ` (anon ${m.worker_idle_parts.anon} + file ${m.worker_idle_parts.file})`
      : "";
    row("worker daemon RSS idle", `${m.worker_idle} MiB${parts}`, "≤ 80 MiB", m.worker_idle <= 80);
    row("requester daemon RSS idle", `${m.requester_idle} MiB`, "≤ 80 MiB", m.requester_idle <= 80);
    row(
      `RSS streaming ${m.stream.mib} MiB (before → max → after)`,
      `${m.stream.before} → ${m.stream.max} → ${m.stream.after} MiB`,
      "≤ 150 MiB, flat",
      m.stream.max <= 150,
    );
    row(
      `RSS with ${m.queued.tasks} queued`,
      `${m.queued.rss} MiB`,
      "≤ 150 MiB",
      m.queued.rss <= 150,
    );
  }
  const c = r.coldstart;
  if (c) {
    row(`cmesh mcp cold start p50 (${c.runs})`, `${c.ms.p50} ms`, "≤ 300 ms", c.ms.p50 <= 300);
  }
  const au = r.audit;
  if (au) {
    row("audit append (own transaction)", `${au.append_us} µs/record`);
    row("audit append (batched)", `${au.append_batched_us} µs/record`);
    row(
      `cmesh audit verify, ${au.verify_records.toLocaleString("en")} records`,
      `${(au.verify_cli_ms / 1000).toFixed(2)} s (in process ${
        (au.verify_inprocess_ms / 1000).toFixed(2)
      } s)`,
      "≤ 10 s",
      au.verify_cli_ms <= 10_000,
    );
  }
  // --- sandbox (issue 12) ---
  const sb = r.sandbox;
  if (sb) {
    row(
      `sandbox added time per run p50 / p95 (${sb.runs} pairs)`,
      `${sb.added_ms.p50} / ${sb.added_ms.p95} ms`,
      "p50 ≤ 5 ms",
      sb.added_ms.p50 <= 5,
    );
    row("  /usr/bin/true bare / in bwrap p50", `${sb.bare_ms.p50} / ${sb.sandboxed_ms.p50} ms`);
  } else if (sb === null) row("sandbox added time per run", "bwrap unusable here");
  // --- end sandbox ---
  return out;
}

function table(rs: Row[]): string {
  const w = [0, 0, 0, 0];
  const cells = rs.map((r) => [r.metric, r.value, r.target, r.met]);
  const head = ["metric", "measured", "target", "met"];
  for (const c of [head, ...cells]) c.forEach((x, i) => w[i] = Math.max(w[i], x.length));
  const line = (c: string[]) => "| " + c.map((x, i) => x.padEnd(w[i])).join(" | ") + " |";
  return [line(head), line(w.map((n) => "-".repeat(n))), ...cells.map(line)].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      out: { type: "string", default: "bench/results.json" },
      mode: { type: "string", default: "auto" },
      runs: { type: "string" },
    },
  });
  const mode = values.mode as "auto" | "netns" | "loopback";
  if (!["auto", "netns", "loopback"].includes(mode)) throw new Error("--mode auto|netns|loopback");
  const only = values.only ? values.only.split(",") as Section[] : [...SECTIONS];
  for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s}`);
  const q = values.quick;
  const options = {
    mode,
    runs: Number(values.runs ?? (q ? 50 : 250)),
    warmup: q ? 10 : 25,
    clients: 50,
    submissions: q ? 1000 : 5000,
    prefill: q ? 2000 : 10_000,
    streamMiB: q ? 50 : 200,
    queued: 1000,
    coldRuns: 10,
    appends: q ? 2000 : 20_000,
    records: q ? 100_000 : 1_000_000,
  };
  const started = performance.now();
  const r: Results = { machine: await machine(), notes: NOTES, options, rows: [], seconds: 0 };
  const m = r.machine;
  console.log(
    `cmesh bench on ${m.nproc} cores (${m.cpu}), ${m.mem_total_mib} MiB RAM, ` +
      `Linux ${m.kernel}, Deno ${m.deno}, SQLite ${m.sqlite}`,
  );
  const step = async <T>(name: Section, f: () => Promise<T>): Promise<T | undefined> => {
    if (!only.includes(name)) return undefined;
    const t = performance.now();
    console.log(`… ${name}`);
    const v = await f();
    console.log(`  done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    return v;
  };
  r.delegation = await step("delegation", () => benchDelegation({ ...options }));
  r.admission = await step("admission", () => benchAdmission({ ...options }));
  r.memory = await step("memory", () => benchMemory({ ...options }));
  r.coldstart = await step("coldstart", () => benchColdStart(options.coldRuns));
  r.audit = await step("audit", () => benchAudit({ ...options }));
  r.sandbox = await step(
    "sandbox",
    () => benchSandbox({ runs: options.runs, warmup: options.warmup }),
  );
  r.rows = rows(r);
  r.seconds = Math.round((performance.now() - started) / 1000);
  console.log("\n" + table(r.rows));
  const failures = [
    ...(r.delegation?.failures ?? []),
    ...(r.admission?.failures ?? []),
    ...(r.memory?.failures ?? []),
  ];
  if (failures.length) console.log(`\nproblems seen:\n- ${failures.slice(0, 20).join("\n- ")}`);
  await Deno.writeTextFile(values.out!, JSON.stringify(r, null, 2) + "\n");
  console.log(`\nwrote ${values.out} (${r.seconds} s)`);
}

if (import.meta.main) await main();
