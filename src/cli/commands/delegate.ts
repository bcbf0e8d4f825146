/**
 * @module
 * `cmesh delegate <peer> "<task>" --cwd --profile [--runner] [--wait]`: hand a task to a peer,
 * optionally follow it with a live progress line, and print the result.
 */
import {
  isTerminal,
  type TaskEvent,
  type TaskResult,
  type TaskStatus,
} from "../../protocol/task.ts";
import { call, controlFor } from "../control_call.ts";
import { formatResult } from "../format.ts";
import { CliError, type CommonOptions, emit, EXIT } from "../output.ts";

/** Options of `cmesh delegate`. */
export interface DelegateOptions extends CommonOptions {
  cwd: string;
  profile: string;
  runner?: string;
  timeout?: string;
  wait?: boolean;
  id?: string;
}

function progressLine(started: number, status: TaskStatus, last: TaskEvent | null): string {
  const secs = Math.round((Date.now() - started) / 1000);
  const ev = last ? ` · ${last.kind}: ${last.text.replace(/\s+/g, " ").slice(0, 60)}` : "";
  return `${status.state} · ${secs}s${ev}`;
}

/** Runs `cmesh delegate`. */
export async function delegate(peer: string, task: string, opts: DelegateOptions): Promise<void> {
  const timeout_s = opts.timeout === undefined ? undefined : Number(opts.timeout);
  if (timeout_s !== undefined && !(Number.isInteger(timeout_s) && timeout_s > 0)) {
    throw new CliError(
      `--timeout must be a positive number of seconds, got "${opts.timeout}"`,
      EXIT.USAGE,
      "usage",
    );
  }
  const client = await controlFor(opts);
  const body = await call(client, "POST", "/v1/delegate", {
    peer,
    task,
    cwd: opts.cwd,
    profile: opts.profile,
    ...(opts.runner ? { runner: opts.runner } : {}),
    ...(timeout_s ? { timeout_s } : {}),
    ...(opts.id ? { id: opts.id } : {}),
  });
  let status = body.task as TaskStatus;
  if (!opts.wait) {
    emit(
      opts,
      body,
      () =>
        `delegated ${status.id} to ${peer} (${status.state}); follow it with: cmesh tasks show ${status.id}`,
    );
    return;
  }
  const tty = !opts.json && Deno.stderr.isTerminal();
  const started = Date.now();
  let after = 0;
  let last: TaskEvent | null = null;
  while (!isTerminal(status.state)) {
    const w = await call(client, "GET", `/v1/tasks/${status.id}/wait?after=${after}&timeout_s=5`);
    status = w.task as TaskStatus;
    for (const ev of w.events as TaskEvent[]) {
      after = ev.seq;
      last = ev;
      if (!tty && !opts.json) console.error(`${ev.kind}: ${ev.text}`);
    }
    if (tty) {
      Deno.stderr.writeSync(
        new TextEncoder().encode(`\r\x1b[2K${progressLine(started, status, last)}`),
      );
    }
  }
  if (tty) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
  const res = await client.get(`/v1/tasks/${status.id}/result`);
  const result = res.ok ? res.body.result as TaskResult : null;
  emit(
    opts,
    { task: status, result, peer },
    () =>
      result
        ? formatResult(result, peer)
        : `${status.id}: ${status.state}${status.error ? `: ${status.error.message}` : ""}`,
  );
  if (status.state === "denied") {
    throw new CliError(status.error?.message ?? "denied", EXIT.DENIED, "denied");
  }
  if (status.state !== "succeeded") Deno.exitCode = EXIT.FAILURE;
}
