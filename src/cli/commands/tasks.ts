/**
 * @module
 * `cmesh tasks list|show|logs|cancel`: outbound tasks through the daemon.
 */
import { isTerminal, type TaskEvent, type TaskState } from "../../protocol/task.ts";
import { lastEvent } from "../../store/task_events.ts";
import { listTasks, toTaskStatus } from "../../store/task_queries.ts";
import { answerOf, controlFor } from "../control_call.ts";
import { followTask } from "../../control/calls.ts";
import { intFlag, stateFlag, taskIdArg } from "../flag_values.ts";
import { openStateStore } from "../state_store.ts";
import { formatEvent, formatResult, formatTaskLine } from "../format.ts";
import { type CommonOptions, emit } from "../output.ts";

/** `cmesh tasks list` (outbound via the daemon; `--inbound` reads this worker's store). */
export async function tasksList(
  opts: CommonOptions & { state?: string; peer?: string; limit?: string; inbound?: boolean },
): Promise<void> {
  const limit = intFlag("--limit", opts.limit ?? "20", 1, 500);
  const state = opts.state === undefined ? undefined : stateFlag(opts.state);
  if (opts.inbound) return await inboundList({ ...opts, state }, limit);
  const client = await controlFor(opts);
  const body = answerOf(
    await client.tasks({ state, peer: opts.peer, limit }),
  );
  emit(opts, body, () => body.tasks.map(formatTaskLine).join("\n") || "no tasks yet");
}

async function inboundList(
  opts: CommonOptions & { state?: TaskState; peer?: string },
  limit: number,
): Promise<void> {
  const store = await openStateStore(opts);
  try {
    const tasks = listTasks(store, {
      direction: "inbound",
      state: opts.state,
      peer: opts.peer,
      limit,
    }).map((t) => ({ ...toTaskStatus(t, lastEvent(store, "inbound", t.id)), peer: t.peer }));
    emit(
      opts,
      { tasks },
      () => tasks.length ? tasks.map(formatTaskLine).join("\n") : "no inbound tasks yet",
    );
  } finally {
    store.close();
  }
}

/** `cmesh tasks show <id>`: status, and the result once finished. */
export async function tasksShow(id: string, opts: CommonOptions): Promise<void> {
  taskIdArg(id);
  const client = await controlFor(opts);
  const { task } = answerOf(await client.task(id));
  const res = isTerminal(task.state) ? await client.result(id) : null;
  const result = res?.ok ? res.value.result : null;
  emit(
    opts,
    { task, result },
    () =>
      result
        ? formatResult(result, task.peer)
        : `${formatTaskLine(task)}${task.last_event ? `\n  last: ${task.last_event.text}` : ""}${
          task.error ? `\n  error: ${task.error.message}` : ""
        }`,
  );
}

/** `cmesh tasks logs <id> [--follow]`. */
export async function tasksLogs(
  id: string,
  opts: CommonOptions & { follow?: boolean },
): Promise<void> {
  taskIdArg(id);
  const client = await controlFor(opts);
  if (!opts.follow) {
    const body = answerOf(await client.events(id));
    emit(opts, body, () => body.events.map(formatEvent).join("\n"));
    return;
  }
  const all: TaskEvent[] = [];
  answerOf(
    await followTask(client, id, {
      onEvent: (ev) => {
        all.push(ev);
        if (!opts.json) console.log(formatEvent(ev));
      },
    }),
  );
  if (opts.json) console.log(JSON.stringify({ events: all }, null, 2));
}

/** `cmesh tasks cancel <id>`. */
export async function tasksCancel(id: string, opts: CommonOptions): Promise<void> {
  taskIdArg(id);
  const body = answerOf(await (await controlFor(opts)).cancel(id));
  emit(opts, body, () => `cancel sent for ${body.task.id} (now ${body.task.state})`);
}
