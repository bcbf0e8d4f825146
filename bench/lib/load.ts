/**
 * @module
 * Admission throughput and daemon memory, on a worker whose runner holds its one slot
 * (`max_concurrent = 1`, the `hold` runner sleeps), so every other admitted task stays
 * queued: submissions measure admission alone (source check, whois with its cache, cwd
 * realpath, policy, durable insert + audit, enqueue), not runs.
 *
 * Memory: worker daemon RSS (`ps -o rss=`) idle, while one task streams 200 MiB of stdout
 * (stored up to `inbound.max_output_bytes`, the rest drained), and with 1,000 tasks queued.
 */
import { createMesh, shRunner } from "../../tests/support/mesh_world.ts";
import { runSubmitClient } from "../../tests/support/submit_client.ts";
import { rssMiB, rssParts, sampleRss } from "./stats.ts";

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

/** Results of {@link benchMemory} (MiB). */
export interface MemoryResult {
  mode: string;
  worker_idle: number;
  /** `worker_idle` split into anonymous memory and mapped files (the Deno executable). */
  worker_idle_parts: { anon: number; file: number } | null;
  requester_idle: number;
  stream: {
    mib: number;
    before: number;
    max: number;
    after: number;
    seconds: number;
    state: string;
    truncated: boolean;
    samples: number;
  };
  queued: { tasks: number; rss: number };
  failures: string[];
}

const HOLD = "sleep 600";

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

async function waitTerminal(
  url: string,
  wrap: string[],
  id: string,
): Promise<Record<string, unknown>> {
  // Polled from where the requester lives (the worker answers tailnet sources only).
  const script = `
    for (;;) {
      const r = await fetch(${JSON.stringify(url)} + "/v1/tasks/${id}");
      const t = (await r.json()).task;
      if (t && !["queued", "running"].includes(t.state)) {
        const res = await (await fetch(${JSON.stringify(url)} + "/v1/tasks/${id}/result")).json();
        console.log(JSON.stringify(res.result));
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }`;
  const argv = [...wrap, Deno.execPath(), "eval", script];
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped" }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Worker daemon RSS idle, while streaming `streamMiB` of output, and with `queued` tasks. */
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
    const pid = mesh.worker!.child.pid;
    const workerIdle = (await rssMiB(pid))!;
    const workerIdleParts = await rssParts(pid);
    const requesterIdle = (await rssMiB(mesh.requester!.child.pid))!;

    // 1 KiB lines, exactly streamMiB MiB.
    const line = "x".repeat(1023);
    const stream = `yes ${line} | head -c ${opts.streamMiB * 1024 * 1024}`;
    const sub = await runSubmitClient(mesh.wrap(), {
      url: mesh.workerUrl,
      count: 1,
      concurrency: 1,
      idPrefix: "t-stream-",
      prompt: stream,
      cwd: mesh.plain,
      runner: "hold",
    });
    const id = sub.admitted[0];
    if (!id) failures.push(`stream task not admitted: ${JSON.stringify(sub.statuses)}`);
    const before = (await rssMiB(pid))!;
    const started = performance.now();
    const done = id ? waitTerminal(mesh.workerUrl, mesh.wrap(), id) : Promise.resolve({});
    const samples = await sampleRss(pid, done, 100);
    const result = await done as {
      state?: string;
      evidence?: { truncated?: { stdout?: boolean } };
    };
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    await new Promise((r) => setTimeout(r, 1000));
    const after = (await rssMiB(pid))!;
    if (result.state !== "succeeded") failures.push(`stream task: ${JSON.stringify(result)}`);

    const q = await runSubmitClient(mesh.wrap(), {
      url: mesh.workerUrl,
      count: opts.queued + 1, // one runs (holding the slot), the rest wait
      concurrency: 20,
      idPrefix: "t-q-",
      prompt: HOLD,
      cwd: mesh.plain,
      runner: "hold",
    });
    if (q.admitted.length !== opts.queued + 1) {
      failures.push(`queued ${q.admitted.length} of ${opts.queued + 1}`);
    }
    await new Promise((r) => setTimeout(r, 2000));
    return {
      mode: mesh.mode,
      worker_idle: workerIdle,
      worker_idle_parts: workerIdleParts,
      requester_idle: requesterIdle,
      stream: {
        mib: opts.streamMiB,
        before,
        max: Math.max(before, ...samples),
        after,
        seconds,
        state: result.state ?? "unknown",
        truncated: result.evidence?.truncated?.stdout ?? false,
        samples: samples.length,
      },
      queued: { tasks: q.admitted.length - 1, rss: (await rssMiB(pid))! },
      failures,
    };
  } finally {
    await mesh.destroy();
  }
}
