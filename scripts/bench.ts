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
 * Sections: `delegation` (MCP `cmesh_delegate` with wait in a git repository and in a plain
 * directory, interleaved with ssh fresh and kept-open; paired ratios), `admission`
 * (submissions/s, 50 clients, 10,000 queued), `memory` (both daemons idle, then 1,000 tasks
 * in flight through the requester while one streams 200 MiB: VmHWM peaks and idle CPU),
 * `coldstart` (`cmesh mcp` spawn → initialize, 50 runs), `audit` (append cost, `cmesh audit
 * verify` of 1M records, cold and warm), `sandbox` (bwrap's added time per run:
 * `/usr/bin/true` bare vs in a `query` run's sandbox, interleaved). `deno task bench:doc`
 * writes the table into docs/performance.md. Nothing here asserts timings.
 */
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { benchDelegation, type DelegationResult } from "../bench/lib/delegation.ts";
import {
  type AdmissionResult,
  benchAdmission,
  benchMemory,
  type MemoryResult,
  warmDaemonCaches,
  worstMemory,
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
  ssh: "a private sshd (key auth) next to the worker, root's shell /bin/sh with an empty home " +
    "(no start-up file); `ssh host /bin/echo bench`, fresh connection per run, and multiplexed " +
    "over one ControlMaster/ControlPersist connection; interleaved run by run with cmesh",
  memory: "/proc/<pid>/status of both daemons (VmRSS, VmHWM = the kernel's peak); tasks " +
    "delegated through the requester's control API, as an agent's MCP server does",
};

const SECTIONS = ["delegation", "admission", "memory", "coldstart", "audit", "sandbox"] as const;
type Section = typeof SECTIONS[number];

interface Results {
  machine: Awaited<ReturnType<typeof machine>>;
  /** `/proc/loadavg` (1, 5, 15 min) when the run started and ended: other work on the box. */
  load?: { start: string; end: string };
  notes: Record<string, string>;
  options: Record<string, unknown>;
  delegation?: DelegationResult;
  admission?: AdmissionResult;
  /** The worst of {@link Results.memory_runs}, figure by figure. */
  memory?: MemoryResult;
  memory_runs?: MemoryResult[];
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
    const g = d.repo_ms;
    const n = `${d.runs} interleaved runs, ${d.mode}`;
    row(`delegate+wait → result, git repo, p50 (${n})`, `${g.p50} ms`, "≤ 8 ms", g.p50 <= 8);
    row("  … p95", `${g.p95} ms`);
    row("  … p99", `${g.p99} ms`, "≤ 25 ms", g.p99 <= 25);
    row("  … plain directory (no git) p50 / p99", `${d.plain_ms.p50} / ${d.plain_ms.p99} ms`);
    if (d.repo_cold_ms) {
      const c = d.repo_cold_ms;
      row(
        "  … new directory each time (no sandbox started ahead) p50 / p99",
        `${c.p50} / ${c.p99} ms`,
      );
    }
    for (const [k, v] of Object.entries(d.phases_ms)) {
      row(`  phase ${k} p50/p95`, `${v.p50} / ${v.p95} ms`);
    }
    if ("skipped" in d.ssh) row("ssh baselines", `skipped: ${d.ssh.skipped}`);
    else {
      const s = d.ssh;
      row("ssh fresh connection p50 / p99", `${s.fresh_ms.p50} / ${s.fresh_ms.p99} ms`);
      row("ssh kept-open (ControlMaster) p50 / p99", `${s.mux_ms.p50} / ${s.mux_ms.p99} ms`);
      row(
        "  paired ratio ssh kept-open / cmesh, median (p95)",
        `${s.ratio_mux.p50}× (${s.ratio_mux.p95}×)`,
        "> 1× (cmesh faster)",
        s.ratio_mux.p50 > 1,
      );
      row(
        "  paired ratio ssh fresh / cmesh, median (p95)",
        `${s.ratio_fresh.p50}× (${s.ratio_fresh.p95}×)`,
      );
    }
  }
  const a = r.admission;
  if (a) {
    row(
      `admission, ${a.clients} clients, ${a.queued_before.toLocaleString("en")} queued`,
      `${a.per_second} /s`,
      "≥ 1,000 /s",
      a.per_second >= 1000,
    );
  }
  const m = r.memory;
  if (m) {
    const mem = (p: { rss: number; anon: number; file: number }) =>
      `${p.rss} MiB (anon ${p.anon} + file ${p.file})`;
    const settled = m.idle_settled;
    if (settled) {
      const at = `idle ${settled.after_s} s after start`;
      row(`worker daemon RSS, ${at}`, mem(settled.worker), "≤ 80 MiB", settled.worker.rss <= 80);
      row(
        `requester daemon RSS, ${at}`,
        mem(settled.requester),
        "≤ 80 MiB",
        settled.requester.rss <= 80,
      );
    }
    row(
      "  … 3 s after start (worker / requester)",
      `${m.idle.worker.rss} / ${m.idle.requester.rss} MiB`,
    );
    const f = m.in_flight;
    const worst = (m.runs ?? 1) > 1 ? `, worst of ${m.runs} runs` : "";
    const what = `${f.tasks.toLocaleString("en")} in flight + ${f.stream_mib} MiB streamed${worst}`;
    row(`worker peak (VmHWM), ${what}`, `${f.worker.hwm} MiB`, "≤ 120 MiB", f.worker.hwm <= 120);
    row(
      `requester peak (VmHWM), ${what}`,
      `${f.requester.hwm} MiB`,
      "≤ 120 MiB",
      f.requester.hwm <= 120,
    );
    const steady = f.cpu_pct_steady;
    if (steady) {
      row(
        `CPU while ${
          f.tasks.toLocaleString("en")
        } wait (worker / requester), ${f.steady_seconds} s`,
        `${steady.worker}% / ${steady.requester}%`,
        "≈ 0 (≤ 1%)",
        steady.worker <= 1 && steady.requester <= 1,
      );
    }
    row(
      `  … the ${f.idle_seconds} s before (V8's one-off collection after the burst)`,
      `${f.cpu_pct.worker}% / ${f.cpu_pct.requester}%`,
      steady ? "" : "≈ 0 (≤ 1%)",
      steady ? undefined : f.cpu_pct.worker <= 1 && f.cpu_pct.requester <= 1,
    );
  }
  const c = r.coldstart;
  if (c) {
    row(
      `cmesh mcp cold start p50 (${c.runs} runs; min / p95 / max)`,
      `${c.ms.p50} ms (${c.ms.min} / ${c.ms.p95} / ${c.ms.max})`,
      "≤ 300 ms",
      c.ms.p50 <= 300,
    );
  }
  const au = r.audit;
  if (au) {
    row("audit append (own transaction / batched)", `${au.append_us} / ${au.append_batched_us} µs`);
    const runs = au.verify_runs_ms.map((x) => (x / 1000).toFixed(2)).join(" / ");
    row(
      `cmesh audit verify, ${au.verify_records.toLocaleString("en")} records (${
        au.verify_cold ? "cold, then warm" : "warm"
      })`,
      `${runs} s`,
      "≤ 10 s",
      Math.max(...au.verify_runs_ms) <= 10_000,
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
    if (sb.etc_bound_each_ms) {
      row(
        "  … in bwrap with each /etc entry bound (no mirror) p50",
        `${sb.etc_bound_each_ms.p50} ms`,
      );
    }
    if (sb.started_ahead_ms && sb.started_ahead_added_ms) {
      row(
        "  … in bwrap started ahead (launch to end) p50; added p50 / p95",
        `${sb.started_ahead_ms.p50} ms; ${sb.started_ahead_added_ms.p50} / ${sb.started_ahead_added_ms.p95} ms`,
      );
    }
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
  // Everything the bench starts inherits its environment: V8 flags from the shell would change
  // what is measured, so the daemons run with the flags a user's daemon gets, and it says so.
  const v8Flags = Deno.env.get("DENO_V8_FLAGS");
  if (v8Flags !== undefined) {
    console.error(`DENO_V8_FLAGS=${v8Flags} is ignored: the bench measures cmesh's own flags`);
    Deno.env.delete("DENO_V8_FLAGS");
  }
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
    memoryRuns: q ? 1 : 3,
    coldRuns: q ? 10 : 50,
    appends: q ? 2000 : 20_000,
    records: q ? 100_000 : 1_000_000,
  };
  const started = performance.now();
  const loadavg = async () =>
    (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3).join(" ");
  const r: Results = {
    machine: await machine(),
    load: { start: await loadavg(), end: "" },
    notes: NOTES,
    options,
    rows: [],
    seconds: 0,
  };
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
  const memoryRuns = await step("memory", async () => {
    const runs: MemoryResult[] = [];
    await warmDaemonCaches(options.mode);
    for (let i = 0; i < options.memoryRuns; i++) runs.push(await benchMemory({ ...options }));
    return runs;
  });
  if (memoryRuns) [r.memory, r.memory_runs] = [worstMemory(memoryRuns), memoryRuns];
  r.coldstart = await step("coldstart", () => benchColdStart(options.coldRuns));
  r.audit = await step("audit", () => benchAudit({ ...options }));
  r.sandbox = await step(
    "sandbox",
    () => benchSandbox({ runs: options.runs, warmup: options.warmup }),
  );
  r.rows = rows(r);
  r.load!.end = await loadavg();
  r.seconds = Math.round((performance.now() - started) / 1000);
  console.log("\n" + table(r.rows));
  const failures = [
    ...(r.delegation?.failures ?? []),
    ...(r.admission?.failures ?? []),
    ...(r.memory?.failures ?? []),
  ];
  if (failures.length) console.log(`\nproblems seen:\n- ${failures.slice(0, 20).join("\n- ")}`);
  await Deno.mkdir(dirname(values.out!), { recursive: true });
  await Deno.writeTextFile(values.out!, JSON.stringify(r, null, 2) + "\n");
  console.log(`\nwrote ${values.out} (${r.seconds} s)`);
}

if (import.meta.main) await main();
