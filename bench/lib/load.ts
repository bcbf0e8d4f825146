/**
 * @module
 * Admission throughput and daemon memory, on a worker whose runner holds its one slot
 * (`max_concurrent = 1`, the `hold` runner sleeps), so every other admitted task stays
 * queued: submissions measure admission alone (source check, whois with its cache, cwd
 * realpath, policy, durable insert + audit, enqueue), not runs.
 *
 * Memory, on the real path: both daemons idle, then with tasks delegated through the
 * requester (one streaming 200 MiB of stdout, 1,000 queued behind it), peaks from `VmHWM`,
 * and the CPU both use while the tasks wait.
 */
import { DatabaseSync } from "node:sqlite";
import { controlToken, createMesh, shRunner } from "../../tests/support/mesh_world.ts";
import { runSubmitClient } from "../../tests/support/submit_client.ts";

/** Results of {@link benchAdmission}. */
export interface AdmissionResult {
  mode: string;
  clients: number;
  /** Tasks already waiting in the queue before the timed submissions. */
  queued_before: number;
  submissions: number;
  per_second: number;
  statuses: Record<string, number>;
  failures: string[];
}

/** Memory of one daemon process (MiB), from `/proc/<pid>/status`. */
export interface ProcMemory {
  rss: number;
  /** The kernel's peak RSS of the process (`VmHWM`). */
  hwm: number;
  anon: number;
  file: number;
}

/** Results of {@link benchMemory}. */
export interface MemoryResult {
  mode: string;
  /** 3 s after both daemons were ready (start-up threads and garbage still there). */
  idle: { worker: ProcMemory; requester: ProcMemory };
  /** {@link IDLE_SETTLED_S} s after they were ready: what an idle daemon holds. */
  idle_settled?: { worker: ProcMemory; requester: ProcMemory; after_s: number };
  /** Delegated through the requester: one task streaming, `tasks` queued behind it. */
  in_flight: {
    tasks: number;
    stream_mib: number;
    stream_state: string;
    stream_seconds: number;
    /** After everything was delegated and the stream ended (peaks are since start). */
    worker: ProcMemory;
    requester: ProcMemory;
    /**
     * CPU use (% of one core) over `idle_seconds` from 5 s after the stream ended, while all tasks
     * wait and nothing prints: it holds V8's one-off collection after the burst.
     */
    cpu_pct: { worker: number; requester: number };
    idle_seconds: number;
    /** The same over the `steady_seconds` after that: what waiting tasks cost. */
    cpu_pct_steady?: { worker: number; requester: number };
    steady_seconds?: number;
  };
  failures: string[];
  /** How many runs this is the worst of ({@link worstMemory}); absent: one. */
  runs?: number;
}

const HOLD = "sleep 600";

/**
 * The worst of several memory runs, figure by figure: the largest idle RSS, the highest peak,
 * the most CPU (peaks vary by several MiB from run to run with when V8 collects).
 */
export function worstMemory(runs: MemoryResult[]): MemoryResult {
  const most = <T>(xs: T[], key: (x: T) => number) =>
    xs.reduce((a, b) => (key(b) > key(a) ? b : a));
  const [first] = runs;
  const settled = runs.map((r) => r.idle_settled).filter((s) => s !== undefined);
  return {
    ...first,
    runs: runs.length,
    idle: {
      worker: most(runs.map((r) => r.idle.worker), (m) => m.rss),
      requester: most(runs.map((r) => r.idle.requester), (m) => m.rss),
    },
    idle_settled: settled.length === 0 ? undefined : {
      worker: most(settled.map((s) => s.worker), (m) => m.rss),
      requester: most(settled.map((s) => s.requester), (m) => m.rss),
      after_s: settled[0].after_s,
    },
    in_flight: {
      ...first.in_flight,
      worker: most(runs.map((r) => r.in_flight.worker), (m) => m.hwm),
      requester: most(runs.map((r) => r.in_flight.requester), (m) => m.hwm),
      cpu_pct: {
        worker: Math.max(...runs.map((r) => r.in_flight.cpu_pct.worker)),
        requester: Math.max(...runs.map((r) => r.in_flight.cpu_pct.requester)),
      },
      cpu_pct_steady: {
        worker: Math.max(...runs.map((r) => r.in_flight.cpu_pct_steady?.worker ?? 0)),
        requester: Math.max(...runs.map((r) => r.in_flight.cpu_pct_steady?.requester ?? 0)),
      },
    },
    failures: runs.flatMap((r) => r.failures),
  };
}
/**
 * When an idle daemon's memory has settled: Deno's start-up threads have exited (about 12 s) and
 * V8 has given back what start-up left in its heaps (its memory reducer runs once the isolate is
 * idle), measured at about 30 s.
 */
export const IDLE_SETTLED_S = 30;

/** Admission throughput with `clients` concurrent submitters. */
export async function benchAdmission(
  opts: {
    clients: number;
    submissions: number;
    prefill: number;
    mode: "auto" | "netns" | "loopback";
  },
): Promise<AdmissionResult> {
  const mesh = await createMesh({
    mode: opts.mode,
    runners: { hold: shRunner("hold", 100) },
    inbound: { max_concurrent: 1, max_queue: 100_000 },
    requesterDaemon: false,
  });
  try {
    const base = {
      url: mesh.workerUrl,
      concurrency: opts.clients,
      prompt: HOLD,
      cwd: mesh.plain,
      runner: "hold",
    };
    // The queue is filled first: admission must not slow down as it grows.
    await runSubmitClient(mesh.wrap(), {
      ...base,
      count: Math.max(200, opts.prefill),
      idPrefix: "t-warm-",
    });
    const r = await runSubmitClient(mesh.wrap(), {
      ...base,
      count: opts.submissions,
      idPrefix: "t-adm-",
    });
    const failures = [...r.malformed, ...r.gaveUp.slice(0, 5).map((id) => `not admitted: ${id}`)];
    return {
      mode: mesh.mode,
      clients: opts.clients,
      queued_before: Math.max(200, opts.prefill),
      submissions: opts.submissions,
      per_second: Math.round(r.admitted.length / (r.durationMs / 1000)),
      statuses: r.statuses,
      failures,
    };
  } finally {
    await mesh.destroy();
  }
}

async function procMemory(pid: number): Promise<ProcMemory> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const mib = (name: string) =>
    Math.round(Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0) / 102.4) /
    10;
  return { rss: mib("VmRSS"), hwm: mib("VmHWM"), anon: mib("RssAnon"), file: mib("RssFile") };
}

/** CPU ticks (user + system) of `pid` and all its threads so far. */
async function cpuTicks(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
}

function stateOf(db: string, id: string): string | null {
  const d = new DatabaseSync(db, { readOnly: true });
  try {
    const row = d.prepare("SELECT state FROM tasks WHERE direction = 'outbound' AND id = ?")
      .get(id) as { state: string } | undefined;
    return row?.state ?? null;
  } finally {
    d.close();
  }
}

/**
 * Starts a pair of daemons and stops them again, so Deno's caches (transpiled modules, V8 code
 * cache) hold every module the memory runs load: the first daemons started from a fresh checkout
 * transpile their modules themselves and measured up to 17 MiB more than the next ones. The full
 * bench runs the delegation section first, which does the same.
 */
export async function warmDaemonCaches(mode: "auto" | "netns" | "loopback"): Promise<void> {
  const mesh = await createMesh({ mode, runners: { hold: shRunner("hold", 100) } });
  await mesh.destroy();
}

/**
 * Both daemons' memory idle, then on the real path: one task printing `streamMiB` MiB and
 * `queued` more waiting behind it, all delegated through the requester's control API (as an
 * agent does); peaks from the kernel (`VmHWM`), and the CPU both use while the tasks wait.
 */
export async function benchMemory(
  opts: { streamMiB: number; queued: number; mode: "auto" | "netns" | "loopback" },
): Promise<MemoryResult> {
  const mesh = await createMesh({
    mode: opts.mode,
    runners: { hold: shRunner("hold", 100) },
    inbound: { max_concurrent: 1, max_queue: 100_000 },
  });
  const failures: string[] = [];
  try {
    await new Promise((r) => setTimeout(r, 3000));
    const wpid = mesh.worker!.child.pid;
    const rpid = mesh.requester!.child.pid;
    const idle = { worker: await procMemory(wpid), requester: await procMemory(rpid) };
    await new Promise((r) => setTimeout(r, (IDLE_SETTLED_S - 3) * 1000));
    const idleSettled = {
      worker: await procMemory(wpid),
      requester: await procMemory(rpid),
      after_s: IDLE_SETTLED_S,
    };
    const line = "x".repeat(1023); // 1 KiB lines, exactly streamMiB MiB
    const stream = `yes ${line} | head -c ${opts.streamMiB * 1024 * 1024}`;
    const client = new URL("./delegate_client.ts", import.meta.url).pathname;
    const delegate = async (prompts: string[]) => {
      const argv = [
        ...mesh.wrap(),
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        client,
        JSON.stringify({
          url: mesh.requesterControlUrl,
          token: await controlToken(mesh.requesterHome),
          peer: mesh.peerName,
          cwd: mesh.plain,
          runner: "hold",
          prompts,
          concurrency: 20,
        }),
      ];
      const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped" })
        .output();
      return JSON.parse(new TextDecoder().decode(out.stdout)) as {
        accepted: number;
        ids: string[];
        statuses: Record<string, number>;
        failures: string[];
      };
    };
    const started = performance.now();
    const first = await delegate([stream]);
    const streamId = first.ids[0];
    if (!streamId) failures.push(`stream task not accepted: ${JSON.stringify(first)}`);
    const rest = await delegate(Array.from({ length: opts.queued }, () => HOLD));
    if (rest.accepted !== opts.queued) {
      failures.push(`accepted ${rest.accepted} of ${opts.queued}: ${rest.failures.join("; ")}`);
    }
    let state = "unknown";
    for (;;) {
      state = streamId ? stateOf(mesh.requesterDb, streamId) ?? "unknown" : "unknown";
      if (!["queued", "running", "unknown"].includes(state)) break;
      if (performance.now() - started > 600_000) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const streamSeconds = Math.round((performance.now() - started) / 100) / 10;
    if (state !== "succeeded") failures.push(`stream task: ${state}`);
    await new Promise((r) => setTimeout(r, 5000)); // settle: the next task holds the slot
    const [idleSeconds, steadySeconds] = [10, 20];
    const t0 = [await cpuTicks(wpid), await cpuTicks(rpid)];
    await new Promise((r) => setTimeout(r, idleSeconds * 1000));
    const t1 = [await cpuTicks(wpid), await cpuTicks(rpid)];
    await new Promise((r) => setTimeout(r, steadySeconds * 1000));
    const t2 = [await cpuTicks(wpid), await cpuTicks(rpid)];
    // 100 ticks/s → % of one core.
    const pct = (d: number, s = idleSeconds) => Math.round(d / s * 10) / 10;
    return {
      mode: mesh.mode,
      idle,
      idle_settled: idleSettled,
      in_flight: {
        tasks: rest.accepted,
        stream_mib: opts.streamMiB,
        stream_state: state,
        stream_seconds: streamSeconds,
        worker: await procMemory(wpid),
        requester: await procMemory(rpid),
        cpu_pct: { worker: pct(t1[0] - t0[0]), requester: pct(t1[1] - t0[1]) },
        idle_seconds: idleSeconds,
        cpu_pct_steady: {
          worker: pct(t2[0] - t1[0], steadySeconds),
          requester: pct(t2[1] - t1[1], steadySeconds),
        },
        steady_seconds: steadySeconds,
      },
      failures,
    };
  } finally {
    await mesh.destroy();
  }
}
