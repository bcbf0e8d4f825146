/**
 * @module
 * `cmesh_wait` (bounded wait with progress) and `cmesh_cancel` (stop the remote work). They
 * are kept apart on purpose: a caller that stops waiting leaves the task running; only
 * `cmesh_cancel` reaches the peer, which stops the runner's whole process tree.
 *
 * @example
 * ```ts
 * import { registerWaitTools } from "./wait.ts";
 * // registerWaitTools(server, { control });
 * ```
 */
import { z } from "../../deps/zod.ts";
import { isTerminal } from "../../protocol/task.ts";
import { followTask } from "../follow.ts";
import { taskText } from "../format.ts";
import { errorResult, okResult } from "../results.ts";
import { CancelOut, FollowOut, toTaskOut } from "../schemas.ts";
import {
  followText,
  reporterFor,
  taskIdArg,
  type ToolRegistrar,
  waitSecondsArg,
} from "./common.ts";
import { getTask } from "./tasks.ts";

/** How long `cmesh_cancel` waits for the peer to confirm the task stopped (seconds). */
export const CANCEL_CONFIRM_S = 15;

/** Registers `cmesh_wait` and `cmesh_cancel`. */
export const registerWaitTools: ToolRegistrar = (server, { control }) => {
  server.registerTool("cmesh_wait", {
    title: "Wait for a delegated task",
    description:
      "Waits up to wait_seconds for a delegated task to finish, sending progress notifications (state, elapsed time, the remote agent's last action) if you pass a progressToken. Returns as soon as the task ends, with its result (untrusted claims + the worker's evidence); otherwise the status so far and the new events. Pass `after` = the previous answer's next_after to get only newer events. Stopping the wait never cancels the task; call again to keep waiting, or cmesh_cancel to stop it.",
    inputSchema: {
      task_id: taskIdArg,
      wait_seconds: waitSecondsArg("how long to wait at most"),
      after: z.int().min(0).default(0).describe(
        "only return events after this sequence number (next_after of the previous answer)",
      ),
    },
    outputSchema: FollowOut,
    annotations: {
      title: "Wait for a task",
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    },
  }, async ({ task_id, wait_seconds, after }, extra) => {
    const followed = await followTask(control, task_id, {
      waitSeconds: wait_seconds,
      after,
      progress: reporterFor(extra),
      signal: extra.signal,
    });
    if (!followed.ok) return errorResult(followed.error, { taskId: task_id });
    const f = followed.value;
    const lead = f.done
      ? `Task ${f.task_id} on ${f.peer} has ended: ${f.state}.`
      : `Task ${f.task_id} on ${f.peer} is still ${f.state} after waiting ${f.waited_s}s.`;
    return okResult(followText(f, lead), f);
  });

  server.registerTool("cmesh_cancel", {
    title: "Cancel a delegated task",
    description:
      "Asks the peer to stop a queued or running task: the worker stops the runner's whole process tree and records the task as cancelled. Changes the agent already made in the cwd are NOT rolled back; check cmesh_result's evidence (changed files, diff stat) afterwards. Waits up to 15 s for the peer to confirm. Cancelling a task that already ended changes nothing.",
    inputSchema: { task_id: taskIdArg },
    outputSchema: CancelOut,
    annotations: {
      title: "Cancel a task",
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
      openWorldHint: true,
    },
  }, async ({ task_id }, extra) => {
    // Look first: the cancel route reports an unknown id as a peer failure.
    const got = await getTask(control, task_id, extra.signal);
    if (!got.ok) return errorResult(got.error, { taskId: task_id });
    const before = got.task;
    const out = (task: typeof before, already: boolean) => ({
      task_id: task.id,
      peer: task.peer,
      state: task.state,
      done: isTerminal(task.state),
      already_finished: already,
      task,
    });
    if (isTerminal(before.state)) {
      return okResult(
        `Nothing to cancel: task ${before.id} had already ended (${before.state}).\n\n${
          taskText(before)
        }`,
        out(before, true),
      );
    }
    const res = await control.cancel(task_id, extra.signal);
    if (!res.ok) {
      return errorResult({
        ...res.error,
        message: `could not cancel task ${task_id} on ${before.peer}: ${res.error.message}`,
      }, { peer: before.peer, taskId: task_id });
    }
    const followed = await followTask(control, task_id, {
      waitSeconds: CANCEL_CONFIRM_S,
      after: before.last_event?.seq ?? 0,
      progress: reporterFor(extra),
      signal: extra.signal,
    });
    const task = followed.ok
      ? followed.value.task
      : toTaskOut({ ...res.value.task, peer: before.peer });
    const text = isTerminal(task.state)
      ? `Task ${task.id} on ${task.peer} is now ${task.state}. Files it already changed stay changed: check cmesh_result's evidence.\n\n${
        taskText(task)
      }`
      : `Cancel requested; ${task.peer} has not confirmed yet (still ${task.state}). Check again with cmesh_status.\n\n${
        taskText(task)
      }`;
    return okResult(text, out(task, false));
  });
};
