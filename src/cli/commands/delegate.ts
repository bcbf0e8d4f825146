/**
 * @module
 * `cmesh delegate <peer> "<prompt>" --cwd --profile [--runner] [--wait]`: hand a task to a peer,
 * optionally follow it with a live progress line, and print the result.
 */
import {
  isTerminal,
  type TaskEvent,
  type TaskResult,
  type TaskStatus,
} from "../../protocol/task.ts";
import { followTask } from "../../control/calls.ts";
import type { ControlClient } from "../../control/client.ts";
import { answerOf, controlFor } from "../control_call.ts";
import { intFlag, nameFlag, peerCwdFlag, taskIdArg } from "../flag_values.ts";
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
export async function delegate(peer: string, prompt: string, opts: DelegateOptions): Promise<void> {
  // Every value is checked here first: a bad one is a usage error (exit 2) even with no daemon.
  const timeout_s = opts.timeout === undefined
    ? undefined
    : intFlag("--timeout", opts.timeout, 1, 7 * 24 * 3600);
  peerCwdFlag(opts.cwd);
  nameFlag("--profile", opts.profile);
  if (opts.runner !== undefined) nameFlag("--runner", opts.runner);
  if (opts.id !== undefined) taskIdArg(opts.id, "--id");
  const client = await controlFor(opts);
  const body = answerOf(
    await client.delegate({
      peer,
      prompt,
      cwd: opts.cwd,
      profile: opts.profile,
      ...(opts.runner ? { runner: opts.runner } : {}),
      ...(timeout_s ? { timeout_s } : {}),
      ...(opts.id ? { id: opts.id } : {}),
    }),
  );
  const status = body.task;
  if (!opts.wait) {
    emit(
      opts,
      body,
      () =>
        `delegated ${status.id} to ${peer} (${status.state}); follow it with: cmesh tasks show ${status.id}`,
    );
    return;
  }
  // Ctrl-C is handled before the id is printed: a user (or a test) may stop waiting as soon
  // as they see it.
  const live = { status };
  const stopWaiting = onInterrupt(() => {
    const hint = interruptHint(status.id);
    const now = live.status;
    if (opts.json) {
      console.log(JSON.stringify({ task: now, peer, waiting: "interrupted", ...hint }, null, 2));
    } else {
      console.error(
        `\nstopped waiting; ${now.id} is still ${now.state} on ${peer}.\n  follow it: ${hint.follow}\n  cancel it: ${hint.cancel}`,
      );
    }
    Deno.exit(130);
  });
  // The id first (stderr, so stdout stays the result): a user who stops waiting can find it.
  if (!opts.json) {
    console.error(
      `delegated ${status.id} to ${peer}; waiting for it (Ctrl-C stops waiting, not the task)`,
    );
  }
  try {
    await waitAndReport(client, peer, live, opts);
  } finally {
    stopWaiting();
  }
}

/** The commands that follow or cancel a task the user stopped waiting for. */
export function interruptHint(id: string): { follow: string; cancel: string } {
  return { follow: `cmesh tasks logs ${id} --follow`, cancel: `cmesh tasks cancel ${id}` };
}

/** Calls `fn` on Ctrl-C (SIGINT) until the returned function is called. */
function onInterrupt(fn: () => void): () => void {
  try {
    Deno.addSignalListener("SIGINT", fn);
  } catch {
    return () => {};
  }
  return () => Deno.removeSignalListener("SIGINT", fn);
}

async function waitAndReport(
  client: ControlClient,
  peer: string,
  live: { status: TaskStatus },
  opts: DelegateOptions,
): Promise<void> {
  let status = live.status;
  const tty = !opts.json && Deno.stderr.isTerminal();
  const started = Date.now();
  let last: TaskEvent | null = null;
  let result: TaskResult | null = null;
  if (!isTerminal(status.state)) {
    const end = answerOf(
      await followTask(client, status.id, {
        pollS: 5,
        onEvent: (ev) => {
          last = ev;
          if (!tty && !opts.json) console.error(`${ev.kind}: ${ev.text}`);
        },
        onStatus: (task) => {
          status = live.status = task;
          if (!tty) return;
          Deno.stderr.writeSync(
            new TextEncoder().encode(`\r\x1b[2K${progressLine(started, task, last)}`),
          );
        },
      }),
    );
    ({ task: status, result } = end);
  } else {
    const res = await client.result(status.id);
    result = res.ok ? res.value.result : null;
  }
  if (tty) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
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
