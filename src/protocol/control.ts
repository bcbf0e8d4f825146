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
import { z } from "../deps/zod.ts";
import { AbsolutePath, Name, TaskEvent, TaskId, TaskResult, TaskStatus } from "./task.ts";

// The wire request refuses NUL in the prompt and cwd; refuse it here too, before anything is
// recorded (otherwise the task is stored, sent, and only then refused by the peer).
const noNul = [(s: string) => !s.includes("\0"), {
  message: "must not contain NUL characters",
}] as const;

const Prompt = z.string().min(1, "must not be empty").refine(...noNul);

/**
 * The body of `POST /v1/delegate`, parsed to `{…, prompt}`. `task` is the old name of `prompt`,
 * still accepted from clients written before the rename ("task" is the delegated unit of work,
 * never its text); exactly one of the two.
 */
export const DelegateBody = z.strictObject({
  peer: z.string().min(1).max(253),
  prompt: Prompt.optional().describe("The prompt for the peer's agent."),
  task: Prompt.optional().describe("The old name of prompt (accepted; send prompt)."),
  cwd: AbsolutePath.refine(...noNul),
  profile: Name.default("query"),
  runner: Name.optional(),
  timeout_s: z.int().positive().max(7 * 24 * 3600).optional(),
  id: TaskId.optional(),
}).refine((b) => (b.prompt === undefined) !== (b.task === undefined), {
  message: "give the prompt once, as prompt (task is its old name)",
  path: ["prompt"],
}).transform(({ prompt, task, ...rest }) => ({ ...rest, prompt: (prompt ?? task)! }));
/** A delegate request as a client sends it (`profile` defaults to `query`). */
export type DelegateBody = Omit<z.input<typeof DelegateBody>, "prompt" | "task"> & {
  prompt: string;
};

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
export const WaitAnswer = z.strictObject({
  task: ControlTask,
  events: z.array(TaskEvent),
  result: TaskResult.optional().describe(
    "With `with=result`: the stored result, once the task is terminal and has one.",
  ),
});
/** `GET /v1/tasks/:id/wait`. */
export type WaitAnswer = z.infer<typeof WaitAnswer>;

/** `GET /v1/tasks/:id/events`: the stored events after `after`. */
export const EventsAnswer = z.strictObject({ events: z.array(TaskEvent) });
/** `GET /v1/tasks/:id/events`. */
export type EventsAnswer = z.infer<typeof EventsAnswer>;

/** `GET /v1/tasks/:id/result` of a finished task. */
export const ResultAnswer = z.strictObject({ result: TaskResult, peer: z.string() });
/** `GET /v1/tasks/:id/result`. */
export type ResultAnswer = z.infer<typeof ResultAnswer>;

/** `GET /v1/tasks`: recent outbound tasks, newest first. */
export const TasksAnswer = z.strictObject({ tasks: z.array(ControlTask) });
/** `GET /v1/tasks`. */
export type TasksAnswer = z.infer<typeof TasksAnswer>;

/**
 * `POST /v1/delegate` (202): the task as recorded and the peer it went to. With `wait_s`, the
 * task as it is after that wait, and the events (and, once terminal, the result) as
 * {@link WaitAnswer} has them.
 */
export const DelegateAnswer = z.strictObject({
  task: TaskStatus,
  peer: z.string(),
  events: z.array(TaskEvent).optional().describe("With `wait_s`: the task's events so far."),
  result: TaskResult.optional().describe(
    "With `wait_s`: the stored result, once the task is terminal and has one.",
  ),
});
/** `POST /v1/delegate`. */
export type DelegateAnswer = z.infer<typeof DelegateAnswer>;

/** `POST /v1/tasks/:id/cancel` (202): the task after the peer took the cancel. */
export const CancelAnswer = z.strictObject({ task: TaskStatus });
/** `POST /v1/tasks/:id/cancel`. */
export type CancelAnswer = z.infer<typeof CancelAnswer>;

/**
 * What a peer's inbound policy allows me, as its `GET /v1/hello` says (`policy/allowed.ts`
 * builds it there). Loose: a newer peer may add fields.
 */
export const AllowsMe = z.looseObject({
  inboundEnabled: z.boolean(),
  rules: z.array(z.looseObject({
    ruleIndex: z.int().nonnegative(),
    by: z.string(),
    profiles: z.array(z.string()),
    cwd: z.array(z.string()),
    runners: z.array(z.string()),
  })),
  limits: z.record(z.string(), z.unknown()),
});
/** What a peer allows me. */
export type AllowsMe = z.infer<typeof AllowsMe>;

/** One configured outbound peer in `GET /v1/peers`: its pin, online state, what it allows me. */
export const ControlPeer = z.strictObject({
  name: z.string(),
  profiles_i_send: z.array(z.string()),
  cwd_i_send: z.array(z.string()),
  pin: z.strictObject({
    stable_id: z.string(),
    source: z.enum(["first_contact", "user", "config"]),
    pinned_at: z.string().nullable(),
    dns_name: z.string().nullable(),
  }).nullable(),
  online: z.boolean(),
  address: z.string().optional(),
  stable_id: z.string().nullable().optional(),
  identity: z.enum(["verified", "unverified"]).optional(),
  cmesh: z.boolean().optional(),
  allows_me: AllowsMe.optional(),
  peer_version: z.string().optional(),
  error: z.string().optional().describe("why the peer could not be resolved or asked"),
  rule: z.string().optional().describe("the outbound rule that refused the peer's name"),
});
/** One outbound peer. */
export type ControlPeer = z.infer<typeof ControlPeer>;

/** `GET /v1/peers`. */
export const PeersAnswer = z.strictObject({ peers: z.array(ControlPeer) });
/** `GET /v1/peers`. */
export type PeersAnswer = z.infer<typeof PeersAnswer>;

/** `GET /v1/status`: the daemon, its tailnet, its worker and runners. */
export const StatusAnswer = z.strictObject({
  node: z.string(),
  version: z.string(),
  pid: z.int(),
  demo: z.boolean(),
  local_only: z.boolean(),
  config_file: z.string(),
  state_dir: z.string(),
  control: z.string().describe("the control API's address, 127.0.0.1:port"),
  worker: z.strictObject({ enabled: z.boolean(), listening: z.array(z.string()) }),
  tailnet: z.union([
    z.strictObject({
      ok: z.literal(true),
      backend_state: z.string(),
      self: z.strictObject({
        name: z.string(),
        dnsName: z.string(),
        stableId: z.string(),
        addresses: z.array(z.string()),
        online: z.boolean(),
        tags: z.array(z.string()),
      }).nullable().describe("this node as tailscaled reports it"),
      peers: z.int(),
    }),
    z.strictObject({ ok: z.literal(false), reason: z.string() }),
  ]),
  runners: z.union([
    z.strictObject({ inbound: z.literal("disabled") }),
    z.strictObject({
      available: z.array(z.strictObject({
        name: z.string(),
        binary: z.string(),
        credentials_present: z.array(z.string()).describe("variable names only, never values"),
      })),
      unavailable: z.array(z.strictObject({ name: z.string(), reason: z.string() })),
      sandbox: z.strictObject({ state: z.string(), detail: z.string() }),
    }),
  ]),
  outbound_peers: z.array(z.string()),
});
/** `GET /v1/status`. */
export type StatusAnswer = z.infer<typeof StatusAnswer>;
