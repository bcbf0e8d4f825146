/**
 * @module
 * Sending a recorded outbound task to its peer: `POST /v1/tasks`, retried on transport errors
 * only (the client task id makes retries safe). The first answer from an unpinned peer's cmesh
 * pins it. A refusal is stored (`denied` / `failed`) with the peer's message verbatim, labelled
 * as the peer's. An answer that was lost (the connection broke after the request went out, or
 * every try timed out and one short status look finds the task at the peer) is not a failure:
 * the peer may run the task, so it is followed there like an accepted one.
 */
import { isTerminal, type TaskRequest, type TaskStatus } from "../protocol/task.ts";
import type { TaskBus } from "../scheduler/task_bus.ts";
import { appendAudit } from "../store/audit.ts";
import type { Store } from "../store/db.ts";
import { appendEvent } from "../store/task_events.ts";
import { getTask, type InsertOutcome, type TaskRecord, updateTaskState } from "../store/tasks.ts";
import { type FailureKind, recordPeerFailure } from "./follower.ts";
import { type PeerAddress, PeerClient, type PeerFailure } from "./peer_client.ts";
import type { PeerTarget } from "./peer_resolve.ts";
import type { QuotedRule, RuleId } from "../protocol/rules.ts";

/** The outcome of a delegation: the task as the peer took it, or why not. */
export type DelegateOutcome =
  | { ok: true; task: TaskStatus; peer: string }
  | {
    ok: false;
    kind: FailureKind | "denied_locally" | "conflict";
    message: string;
    /** This node's outbound rule (a local denial), or the peer's, quoted. */
    rule?: RuleId | QuotedRule;
    task?: TaskStatus;
  };

/** What dispatch needs from the requester. */
export interface DispatchContext {
  store: Store;
  bus: TaskBus;
  /** This node's name, the actor of `outbound.dispatch` records. */
  self: string;
  /** Timeout of one request to a peer (default 10 s). */
  peerTimeoutMs?: number;
  /** Called when the peer's cmesh answered a submission (pins the peer on first contact). */
  onContact?: (peer: string, target: PeerTarget) => void;
  /** Follows the task at the peer from here on. */
  follow: (task: TaskRecord, address: PeerAddress) => void;
  /** The local view of an outbound task. */
  status: (id: string) => TaskStatus | null;
}

/** Where a peer is, or why it cannot be reached now (offline, not on the tailnet). */
export type ResolvedPeer =
  | { ok: true; address: PeerAddress; target?: PeerTarget }
  | { ok: false; message: string };

/** A task recorded for sending, with where its peer was found (or why it was not). */
export interface RecordedTask {
  request: TaskRequest;
  peer: string;
  recorded: Exclude<InsertOutcome, { outcome: "conflict" }>;
  resolved: ResolvedPeer;
}

const RETRY_DELAYS_MS = [250, 1000, 3000];
const EARLIER_UNANSWERED: PeerFailure = {
  kind: "unreachable",
  maybeDelivered: true,
  message: "an earlier submission of this id got no answer",
};
/** How long the one status look after failed submissions may take. */
const STATUS_PROBE_MS = 3000;

/**
 * Sends a recorded task to its peer, or follows it there when an earlier submission of the same
 * id already reached it. An offline or unknown peer is stored as a failed attempt.
 *
 * @example
 * ```ts
 * import { type DispatchContext, dispatch, type RecordedTask } from "./dispatch.ts";
 * declare const ctx: DispatchContext;
 * declare const task: RecordedTask;
 * const out = await dispatch(ctx, task);
 * if (!out.ok) console.log(out.kind, out.message);
 * ```
 */
export async function dispatch(ctx: DispatchContext, t: RecordedTask): Promise<DelegateOutcome> {
  const { request: { id }, peer, resolved } = t;
  if (!resolved.ok) {
    return failed(ctx, id, peer, { kind: "unreachable", message: resolved.message });
  }
  const to: Sending = { ctx, id, peer, address: resolved.address, target: resolved.target };
  const { outcome, task } = t.recorded;
  if (outcome === "existing" && (isTerminal(task.state) || task.remote_state !== null)) {
    if (!isTerminal(task.state)) ctx.follow(task, to.address);
    return { ok: true, task: ctx.status(id)!, peer };
  }
  // A repeat of an id whose first submission got no answer: it may already be at the peer.
  return await submit(to, t.request, outcome === "existing" ? EARLIER_UNANSWERED : null);
}

/** One task on its way to one peer. */
interface Sending {
  ctx: DispatchContext;
  id: string;
  peer: string;
  address: PeerAddress;
  target?: PeerTarget;
}

async function submit(
  to: Sending,
  request: TaskRequest,
  earlier: PeerFailure | null,
): Promise<DelegateOutcome> {
  const client = new PeerClient(to.address, to.ctx.peerTimeoutMs);
  let failure: PeerFailure | null = null;
  // Set once an attempt may have reached the peer: the same id may then run there already.
  let lostAnswer: PeerFailure | null = earlier;
  for (let attempt = 0; attempt <= RETRY_DELAYS_MS.length; attempt++) {
    const res = await client.submit(request);
    // The peer's cmesh answered (accepted or refused): a first contact pins it.
    if (to.target && (res.ok || res.failure.kind === "refused")) {
      to.ctx.onContact?.(to.peer, to.target);
    }
    if (res.ok) return accepted(to, res.value);
    failure = res.failure;
    if (failure.kind === "unreachable" && failure.maybeDelivered) lostAnswer ??= failure;
    // Only transport failures are retried; a refusal is an answer.
    if (failure.kind !== "unreachable") break;
    if (attempt < RETRY_DELAYS_MS.length) {
      await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt]));
    }
  }
  if (lostAnswer && (failure!.kind === "unreachable" || failure!.kind === "not_cmesh")) {
    return followLostAnswer(to, lostAnswer, failure!);
  }
  // Every try timed out (or failed to connect): a busy peer may still have stored it. One
  // short status look decides; a port that drops packets answers that in 3 s as well.
  if (failure!.kind === "unreachable") {
    const seen = await client.status(request.id, AbortSignal.timeout(STATUS_PROBE_MS));
    if (seen.ok) return followLostAnswer(to, failure!, failure!);
  }
  return failed(to.ctx, to.id, to.peer, failure!);
}

/** The peer took the task: its state, an event and `outbound.dispatch`, then follow it. */
function accepted(to: Sending, remote: TaskStatus): DelegateOutcome {
  const { ctx: { store }, id, peer, address, target } = to;
  store.transaction(() => {
    const state = remote.state;
    // The peer's event stream may have told more already (the task ran, or even ended, there
    // before this answer came back): then that stands, and only the dispatch is recorded.
    if (getTask(store, "outbound", id)?.remote_state == null) {
      updateTaskState(store, "outbound", id, state, { remote_state: state, runner: remote.runner });
      appendEvent(store, "outbound", id, {
        kind: "state",
        text: `accepted by ${peer} (${state})`,
        data: { remote_state: state },
      });
    }
    appendAudit(store, {
      kind: "outbound.dispatch",
      task_id: id,
      actor: { node: to.ctx.self },
      data: {
        peer,
        address: `${address.host}:${address.port}`,
        remote_state: state,
        ...(target ? { stable_id: target.stableId, pin: target.pin } : {}),
      },
    });
  });
  return following(to);
}

/**
 * The peer may have stored the task before the connection broke (e.g. its daemon was killed
 * mid-answer) and may run it after a restart. Failing it here would leave the two sides
 * disagreeing, so the task is followed like an accepted one: the peer's answer decides (its
 * status once it is back; 404 there fails the task as never received).
 */
function followLostAnswer(to: Sending, lost: PeerFailure, last: PeerFailure): DelegateOutcome {
  const { ctx: { store }, id, peer, address } = to;
  store.transaction(() => {
    appendEvent(store, "outbound", id, {
      kind: "log",
      text: `the answer of ${peer} was lost (${lost.message}); since it may hold the task, ` +
        `cmesh follows it there until it answers (last try: ${last.message})`,
    });
    appendAudit(store, {
      kind: "outbound.dispatch",
      task_id: id,
      actor: { node: to.ctx.self },
      reason: `answer lost: ${lost.message}`,
      data: { peer, address: `${address.host}:${address.port}`, remote_state: null },
    });
  });
  return following(to);
}

function following({ ctx, id, peer, address }: Sending): DelegateOutcome {
  ctx.bus.emit(id);
  const task = getTask(ctx.store, "outbound", id)!;
  if (!isTerminal(task.state)) ctx.follow(task, address);
  return { ok: true, task: ctx.status(id)!, peer };
}

function failed(ctx: DispatchContext, id: string, peer: string, f: PeerFailure): DelegateOutcome {
  const failure = recordPeerFailure(ctx.store, ctx.bus, ctx.self, id, peer, f);
  return { ok: false, ...failure, task: ctx.status(id) ?? undefined };
}
