/**
 * @module
 * A load client for the worker API, run as its own process where a requester lives (e.g.
 * `ip netns exec <ns> deno run -A tests/support/submit_client.ts '<json>'`), so the worker sees
 * real source addresses. It submits `count` tasks over `concurrency` connections and prints
 * one JSON line: {@link SubmitReport}.
 *
 * Options ({@link SubmitOptions}): on a 429 it waits `retryMs` (not the server's
 * `Retry-After`, which is advice for humans and agents; tests keep their time bounded) and
 * submits the same id again until `deadlineMs`; with `resubmitEvery` = n, every n-th admitted
 * task is submitted a second time with the identical body, which must answer 200 with the
 * same task (idempotency).
 *
 * @example
 * ```ts
 * import { runSubmitClient } from "./submit_client.ts";
 * const report = await runSubmitClient(["ip", "netns", "exec", "cmt-1-r0"], {
 *   url: "http://100.64.0.1:7433", count: 100, concurrency: 10, idPrefix: "t-a-",
 *   prompt: "hi", cwd: "/srv/app", runner: "zero",
 * });
 * ```
 */

/** What to submit. */
export interface SubmitOptions {
  url: string;
  count: number;
  concurrency: number;
  idPrefix: string;
  prompt: string;
  cwd: string;
  runner: string;
  /** Retry 429s after this many ms (default: no retries). */
  retryMs?: number;
  /** Give up retrying after this long (default 60 s). */
  deadlineMs?: number;
  /** Resubmit every n-th admitted task once more (default 0: never). */
  resubmitEvery?: number;
  timeoutS?: number;
}

/** What happened. */
export interface SubmitReport {
  /** Ids that got 202 (created) or 200 (already there), each once. */
  admitted: string[];
  /** Ids whose resubmission got 200 with the same task id (idempotent). */
  idempotent: string[];
  /** Ids never admitted before the deadline. */
  gaveUp: string[];
  /** Count per HTTP status (0 = transport error). */
  statuses: Record<string, number>;
  /** Distinct `Retry-After` values seen on 429s, and one example 429 body. */
  retryAfter: string[];
  example429: unknown;
  /** Answers that were not JSON with an `error.code` (for errors) or a `task` (for 2xx). */
  malformed: string[];
  durationMs: number;
}

/** Submits tasks in this process. */
export async function submitTasks(o: SubmitOptions): Promise<SubmitReport> {
  const report: SubmitReport = {
    admitted: [],
    idempotent: [],
    gaveUp: [],
    statuses: {},
    retryAfter: [],
    example429: null,
    malformed: [],
    durationMs: 0,
  };
  const started = performance.now();
  const deadline = Date.now() + (o.deadlineMs ?? 60_000);
  const count = (status: number) => report.statuses[status] = (report.statuses[status] ?? 0) + 1;
  const body = (id: string) =>
    JSON.stringify({
      id,
      prompt: o.prompt,
      cwd: o.cwd,
      profile: "query",
      runner: o.runner,
      ...(o.timeoutS ? { timeout_s: o.timeoutS } : {}),
    });
  const post = async (id: string): Promise<{ status: number; json: unknown; retry: string }> => {
    try {
      const res = await fetch(`${o.url}/v1/tasks`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: body(id),
      });
      const text = await res.text();
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        report.malformed.push(`${res.status}: ${text.slice(0, 200)}`);
      }
      return { status: res.status, json, retry: res.headers.get("retry-after") ?? "" };
    } catch (e) {
      return { status: 0, json: { transport: String(e) }, retry: "" };
    }
  };
  let next = 0;
  let admitted = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= o.count) return;
      const id = `${o.idPrefix}${String(i).padStart(6, "0")}`;
      for (;;) {
        const r = await post(id);
        count(r.status);
        const task = (r.json as { task?: { id?: string } } | null)?.task;
        const code = (r.json as { error?: { code?: string } } | null)?.error?.code;
        if (r.status === 202 || r.status === 200) {
          if (task?.id !== id) report.malformed.push(`${r.status} without task ${id}`);
          report.admitted.push(id);
          admitted++;
          if (o.resubmitEvery && admitted % o.resubmitEvery === 0) {
            const again = await post(id);
            count(again.status);
            const t2 = (again.json as { task?: { id?: string } } | null)?.task;
            if (again.status === 200 && t2?.id === id) report.idempotent.push(id);
            else report.malformed.push(`resubmit of ${id}: ${again.status}`);
          }
          break;
        }
        if (r.status !== 0 && !code) report.malformed.push(`${r.status} without error.code`);
        if (r.status === 429) {
          if (!report.retryAfter.includes(r.retry)) report.retryAfter.push(r.retry);
          report.example429 ??= r.json;
        }
        const retryable = r.status === 429 || r.status === 0;
        if (!retryable || o.retryMs === undefined || Date.now() > deadline) {
          report.gaveUp.push(id);
          break;
        }
        await new Promise((res) => setTimeout(res, o.retryMs));
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  report.durationMs = performance.now() - started;
  return report;
}

/** Runs the client as a process (prefixed by `wrap`, e.g. `ip netns exec ns`) and parses its report. */
export async function runSubmitClient(wrap: string[], o: SubmitOptions): Promise<SubmitReport> {
  const argv = [...wrap, Deno.execPath(), "run", "-A", "--quiet", import.meta.filename!];
  const out = await new Deno.Command(argv[0], {
    args: [...argv.slice(1), JSON.stringify(o)],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0 || !text) {
    throw new Error(`submit client failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(text.split("\n").at(-1)!) as SubmitReport;
}

if (import.meta.main) {
  const report = await submitTasks(JSON.parse(Deno.args[0]) as SubmitOptions);
  console.log(JSON.stringify(report));
}
