/**
 * @module
 * The read tools over delegated tasks: `cmesh_status` (one task now), `cmesh_result` (claims
 * and evidence of a finished task) and `cmesh_tasks` (recent tasks, filterable). They read
 * the local daemon's durable record; none of them waits or contacts a peer.
 *
 * @example
 * ```ts
 * import { registerTaskTools } from "./tasks.ts";
 * // registerTaskTools(server, { control });
 * ```
 */
import { z } from "../../deps/zod.ts";
import { isTerminal, TASK_STATES } from "../../protocol/task.ts";
import type { ControlCalls } from "../../control/calls.ts";
import { fetchResult } from "../follow.ts";
import { resultText, taskText } from "../format.ts";
import { errorResult, okResult, type ToolError } from "../results.ts";
import { ResultToolOut, StatusOut, type TaskOut, TasksOut, toTaskOut } from "../schemas.ts";
import { nextWait, taskIdArg, type ToolRegistrar } from "./common.ts";

const READ_LOCAL = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
} as const;

/** Reads one task's status from the daemon. */
export async function getTask(
  control: ControlCalls,
  id: string,
  signal?: AbortSignal,
): Promise<{ ok: true; task: TaskOut } | { ok: false; error: ToolError }> {
  const res = await control.task(id, signal);
  return res.ok ? { ok: true, task: toTaskOut(res.value.task) } : { ok: false, error: res.error };
}

function hintFor(task: TaskOut): string {
  return isTerminal(task.state)
    ? `It has ended: read the claims and evidence with cmesh_result {"task_id":"${task.id}"}.`
    : `Still in progress: ${
      nextWait({ task_id: task.id, next_after: 0 })
    } waits for it; cmesh_cancel stops it.`;
}

/** Registers `cmesh_status`, `cmesh_result` and `cmesh_tasks`. */
export const registerTaskTools: ToolRegistrar = (server, { control }) => {
  server.registerTool("cmesh_status", {
    title: "Status of a delegated task",
    description:
      "The current state of one delegated task (queued, running, succeeded, failed, cancelled, timed_out, interrupted, denied), how long it has run and its last event (e.g. the tool the remote agent is using). Returns at once; use cmesh_wait to wait and cmesh_result for the outcome.",
    inputSchema: { task_id: taskIdArg },
    outputSchema: StatusOut,
    annotations: { title: "Task status", ...READ_LOCAL },
  }, async ({ task_id }, extra) => {
    const got = await getTask(control, task_id, extra.signal);
    if (!got.ok) return errorResult(got.error, { taskId: task_id });
    const t = got.task;
    return okResult(`${taskText(t)}\n\n${hintFor(t)}`, {
      task_id: t.id,
      peer: t.peer,
      state: t.state,
      done: isTerminal(t.state),
      task: t,
    });
  });

  server.registerTool("cmesh_result", {
    title: "Result of a delegated task",
    description:
      "The outcome of a finished task, in two parts kept apart: the remote agent's CLAIMS (its final text: untrusted, it may be wrong or overstated) and the worker's EVIDENCE (exit status and signal, duration, git HEAD before/after, diff stat, changed files, tokens/cost as reported, permission denials, output truncation, stderr tail). Check the claims against the evidence before relying on them: e.g. 'fixed the bug' with no changed files did not happen. While the task is still running, returns result: null and its status.",
    inputSchema: { task_id: taskIdArg },
    outputSchema: ResultToolOut,
    annotations: { title: "Task result (claims + evidence)", ...READ_LOCAL },
  }, async ({ task_id }, extra) => {
    const got = await getTask(control, task_id, extra.signal);
    if (!got.ok) return errorResult(got.error, { taskId: task_id });
    const t = got.task;
    const done = isTerminal(t.state);
    const result = done ? await fetchResult(control, t, extra.signal) : null;
    const text = result
      ? resultText(result)
      : done
      ? `${
        taskText(t)
      }\n\nThe task ended (${t.state}) without a stored result (it never ran on the peer).`
      : `No result yet.\n\n${taskText(t)}\n\n${hintFor(t)}`;
    return okResult(text, {
      task_id: t.id,
      peer: t.peer,
      state: t.state,
      done,
      result,
      task: t,
    });
  });

  server.registerTool("cmesh_tasks", {
    title: "Recent delegated tasks",
    description:
      "Lists tasks this machine delegated, newest first, with state, peer and last event. Filter by state (e.g. running) or peer. Use it to find a task id again.",
    inputSchema: {
      state: z.enum(TASK_STATES).optional().describe("only tasks in this state"),
      peer: z.string().min(1).max(253).optional().describe("only tasks sent to this peer"),
      limit: z.int().min(1).max(100).default(20).describe("at most this many (1..100)"),
    },
    outputSchema: TasksOut,
    annotations: { title: "List delegated tasks", ...READ_LOCAL },
  }, async ({ state, peer, limit }, extra) => {
    const res = await control.tasks({ state, peer, limit }, extra.signal);
    if (!res.ok) return errorResult(res.error);
    const tasks = res.value.tasks.map(toTaskOut);
    const filter = [state && `state ${state}`, peer && `peer ${peer}`].filter(Boolean).join(", ");
    const text = tasks.length
      ? [
        `${tasks.length} task(s)${filter ? ` (${filter})` : ""}, newest first:`,
        ...tasks.map((t) => `- ${taskText(t).replace(/\n/g, "\n  ")}`),
      ].join("\n")
      : `No delegated tasks${filter ? ` matching ${filter}` : ""}.`;
    return okResult(text, { count: tasks.length, tasks });
  });
};
