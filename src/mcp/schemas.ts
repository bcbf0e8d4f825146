/**
 * @module
 * The output schemas of the MCP tools (published as `outputSchema`, checked against every
 * `structuredContent`), and the functions that turn control API answers into them.
 *
 * Results keep the remote agent's `claims` apart from the worker's `evidence`; the schema
 * descriptions say which is which, so a client that only reads JSON learns it too.
 *
 * @example
 * ```ts
 * import { toEventOut } from "./schemas.ts";
 * toEventOut({ seq: 1, at: "2025-01-01T00:00:00Z", kind: "tool", text: "Read a.ts", data: {} });
 * // { seq: 1, at: "2025-01-01T00:00:00Z", kind: "tool", text: "Read a.ts" }
 * ```
 */
import { z } from "../deps/zod.ts";
import type { ControlPeer, ControlTask } from "../protocol/control.ts";
import {
  Claims,
  ErrorInfo,
  Evidence,
  TASK_STATES,
  type TaskEvent,
  type TaskResult,
} from "../protocol/task.ts";

/** One task event as the tools show it (without the bulky `data`). */
export const EventOut = z.object({
  seq: z.int().describe("event number, from 1; pass the last one as `after` to skip old events"),
  at: z.string(),
  kind: z.string().describe("state, message, tool, denial, usage, log or error"),
  text: z.string(),
});
/** An event as shown. */
export type EventOut = z.infer<typeof EventOut>;

/** The status of one delegated task, as the local daemon records it. */
export const TaskOut = z.object({
  id: z.string(),
  peer: z.string().describe("the peer the task was sent to"),
  state: z.enum(TASK_STATES),
  profile: z.string(),
  runner: z.string().describe("empty until the worker reports which runner it chose"),
  cwd: z.string().describe("working directory on the peer"),
  created_at: z.string().nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  last_event: EventOut.nullable(),
  error: ErrorInfo.nullable(),
});
/** A task status as shown. */
export type TaskOut = z.infer<typeof TaskOut>;

/**
 * Said inside every structured result, because clients hand the model `structuredContent`
 * rather than the text block (seen with Claude Code and Codex).
 */
export const TRUST_NOTE =
  "claims.final_text is the remote agent's own account and is UNTRUSTED; evidence was observed by the worker itself. Check the evidence before relying on a claim.";

/** A finished task's outcome: claims (untrusted) and evidence (observed), kept apart. */
export const ResultOut = z.object({
  trust: z.literal(TRUST_NOTE).describe("how to read claims vs evidence"),
  task_id: z.string(),
  peer: z.string(),
  state: z.enum(TASK_STATES),
  profile: z.string(),
  runner: z.string(),
  cwd: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  claims: Claims.describe(
    "UNTRUSTED: what the remote agent says it did (its final text). Verify against evidence.",
  ),
  evidence: Evidence.nullable().describe(
    "What the worker observed itself: exit status, duration, git before/after, diff stat, " +
      "changed files, token use/cost as reported, permission denials, truncation. " +
      "null when the runner never started.",
  ),
  error: ErrorInfo.nullable(),
});
/** A result as shown. */
export type ResultOut = z.infer<typeof ResultOut>;

/** What `cmesh_delegate` and `cmesh_wait` return: status so far, recent events, result if done. */
export const FollowOut = z.object({
  task_id: z.string(),
  peer: z.string(),
  state: z.enum(TASK_STATES),
  done: z.boolean().describe("true when the state is terminal (nothing will change any more)"),
  waited_s: z.number().describe("how long this call waited"),
  task: TaskOut,
  events: z.array(EventOut).describe("events after `after` (the most recent ones if many)"),
  events_omitted: z.int().describe("older events left out of `events`"),
  next_after: z.int().describe("pass as `after` to cmesh_wait to get only newer events"),
  result: ResultOut.nullable().describe("the result when done, else null"),
});
/** A follow answer. */
export type FollowOut = z.infer<typeof FollowOut>;

/** `cmesh_status`. */
export const StatusOut = z.object({
  task_id: z.string(),
  peer: z.string(),
  state: z.enum(TASK_STATES),
  done: z.boolean(),
  task: TaskOut,
});

/** `cmesh_result`. */
export const ResultToolOut = z.object({
  task_id: z.string(),
  peer: z.string(),
  state: z.enum(TASK_STATES),
  done: z.boolean(),
  result: ResultOut.nullable().describe("null while the task is still queued or running"),
  task: TaskOut,
});

/** `cmesh_cancel`. */
export const CancelOut = z.object({
  task_id: z.string(),
  peer: z.string(),
  state: z.enum(TASK_STATES),
  done: z.boolean(),
  already_finished: z.boolean().describe("true when the task had ended before the cancel"),
  task: TaskOut,
});

/** `cmesh_tasks`. */
export const TasksOut = z.object({
  count: z.int(),
  tasks: z.array(TaskOut),
});

/** One rule of a peer's inbound policy that names me. */
export const AllowedRuleOut = z.object({
  rule: z.string().describe("the rule on the peer, e.g. inbound.allow[0]"),
  by: z.string().describe("how the rule matched me (peer name, tag, login)"),
  profiles: z.array(z.string()),
  cwd: z.array(z.string()).describe(
    "allowed cwd roots on the peer (a task's cwd must be inside one)",
  ),
  runners: z.array(z.string()),
});

/** One outbound peer. */
export const PeerOut = z.object({
  name: z.string(),
  online: z.boolean(),
  cmesh: z.boolean().describe("true when cmesh answered on the peer"),
  address: z.string().nullable(),
  peer_version: z.string().nullable(),
  node: z.object({
    stable_id: z.string().nullable().describe("the node whois confirmed at the address, if any"),
    pinned: z.string().nullable().describe("the StableID this peer name is pinned to"),
    pin_source: z.string().nullable().describe("first_contact, user or config"),
  }).describe("which Tailscale node this name means (tasks go only to the pinned node)"),
  i_may_send: z.object({
    profiles: z.array(z.string()),
    cwd: z.array(z.string()).describe("cwd glob patterns my own outbound policy allows"),
  }).describe("what MY outbound policy allows me to send to this peer"),
  peer_allows_me: z.object({
    inbound_enabled: z.boolean(),
    rules: z.array(AllowedRuleOut),
    limits: z.record(z.string(), z.unknown()),
  }).nullable().describe("what the PEER's inbound policy allows me; null when it did not answer"),
  error: z.string().nullable(),
});
/** A peer as shown. */
export type PeerOut = z.infer<typeof PeerOut>;

/** `cmesh_peers`. */
export const PeersOut = z.object({ peers: z.array(PeerOut) });

/** Drops an event's `data`. */
export function toEventOut(e: TaskEvent): EventOut {
  return { seq: e.seq, at: e.at, kind: e.kind, text: e.text };
}

/** A control API task as {@link TaskOut}. */
export function toTaskOut(t: ControlTask): TaskOut {
  return { ...t, last_event: t.last_event && toEventOut(t.last_event) };
}

/** A stored result (a wire `TaskResult`) as {@link ResultOut}. */
export function toResultOut(r: TaskResult, peer: string): ResultOut {
  return {
    trust: TRUST_NOTE,
    task_id: r.id,
    peer,
    state: r.state,
    profile: r.profile,
    runner: r.runner,
    cwd: r.cwd,
    started_at: r.started_at,
    finished_at: r.finished_at,
    claims: r.claims,
    evidence: r.evidence,
    error: r.error,
  };
}

/** A `/v1/peers` entry as {@link PeerOut}. */
export function toPeerOut(p: ControlPeer): PeerOut {
  const allowed = p.allows_me;
  return {
    name: p.name,
    online: p.online,
    cmesh: p.cmesh ?? false,
    address: p.address ?? null,
    peer_version: p.peer_version ?? null,
    node: {
      stable_id: p.stable_id ?? null,
      pinned: p.pin?.stable_id ?? null,
      pin_source: p.pin?.source ?? null,
    },
    i_may_send: { profiles: p.profiles_i_send, cwd: p.cwd_i_send },
    peer_allows_me: allowed
      ? {
        inbound_enabled: allowed.inboundEnabled,
        rules: allowed.rules.map((r) => ({
          rule: `inbound.allow[${r.ruleIndex}]`,
          by: r.by,
          profiles: r.profiles,
          cwd: r.cwd,
          runners: r.runners,
        })),
        limits: allowed.limits,
      }
      : null,
    error: p.error ?? null,
  };
}
