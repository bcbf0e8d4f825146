/**
 * @module
 * The answers of the loopback control API that its clients read (CLI, MCP, demo, setup), as
 * zod schemas: `ControlClient` checks each answer against them, so a renamed field fails at the
 * client with a message instead of becoming `undefined` in a caller. JSON Schemas in `schemas/`
 * are generated from them (`deno task schemas`).
 *
 * @example
 * ```ts
 * import { WaitAnswer } from "./control.ts";
 * const res = await fetch("http://127.0.0.1:7434/v1/tasks/t_0123456789/wait?after=0");
 * const { task, events } = WaitAnswer.parse(await res.json());
 * ```
 */
import { z } from "zod";
import { TaskEvent, TaskResult, TaskStatus } from "./task.ts";

/** A task as the control API shows it: the worker's status and the peer it was sent to. */
export const ControlTask = TaskStatus.extend({
  peer: z.string().describe("The peer the task was delegated to."),
});
/** A task as the control API shows it. */
export type ControlTask = z.infer<typeof ControlTask>;

/** `GET /v1/tasks/:id`. */
export const TaskAnswer = z.strictObject({ task: ControlTask });
/** `GET /v1/tasks/:id`. */
export type TaskAnswer = z.infer<typeof TaskAnswer>;

/** `GET /v1/tasks/:id/wait`: the task now and the events after `after`, in order. */
export const WaitAnswer = z.strictObject({ task: ControlTask, events: z.array(TaskEvent) });
/** `GET /v1/tasks/:id/wait`. */
export type WaitAnswer = z.infer<typeof WaitAnswer>;

/** `GET /v1/tasks/:id/result` of a finished task. */
export const ResultAnswer = z.strictObject({ result: TaskResult, peer: z.string() });
/** `GET /v1/tasks/:id/result`. */
export type ResultAnswer = z.infer<typeof ResultAnswer>;
