/**
 * @module
 * The requester side of delegation: decide (outbound policy, then the peer's node checked with
 * whois) → record (the outbound task row and its `outbound.decision` record, one transaction;
 * `store/record_decision.ts`, the worker's shape too) → dispatch (`dispatch.ts`) → follow
 * (`follower.ts`, `peer_stream.ts`); and the local view of outbound tasks: status, events,
 * wait, cancel.
 */
import { type Allow, type Decision, type Deny, deny } from "../policy/decision.ts";
import {
  isTerminal,
  type TaskEvent,
  type TaskRequest,
  type TaskResult,
  type TaskState,
  type TaskStatus,
} from "../protocol/task.ts";
import type { RuleId } from "../protocol/rules.ts";
import { TaskBus } from "../scheduler/task_bus.ts";
import { appendAudit } from "../store/audit.ts";
import { requestHash } from "../store/hash.ts";
import { recordDecision } from "../store/record_decision.ts";
import { getResult, lastEvent, listEvents } from "../store/task_events.ts";
import { listTasks, toTaskStatus } from "../store/task_queries.ts";
import { getTask, getTaskState, type TaskRecord } from "../store/tasks.ts";
import {
  type DelegateOutcome,
  dispatch,
  type DispatchContext,
  type ResolvedPeer,
} from "./dispatch.ts";
import { TaskFollower } from "./follower.ts";
import { type PeerAddress, PeerClient } from "./peer_client.ts";

/** What a user (or agent) asks to delegate. */
export interface DelegateInput {
  peer: string;
  prompt: string;
  cwd: string;
  profile: string;
  runner?: string;
  timeout_s?: number;
  /** Client task id for idempotent retries; generated when absent. */
  id?: string;
}

/**
 * How the requester finds a peer's address (config, then LocalAPI status, checked with whois; see
 * `peer_resolve.ts`). A failure with a `rule` is a refusal: nothing is recorded or sent.
 */
export type PeerResolver = (
  name: string,
) => Promise<ResolvedPeer & { ok: true } | { ok: false; message: string; rule?: RuleId }>;

/** Dependencies of the requester (`self` is the actor of its audit records). */
export interface DelegationDeps extends Omit<DispatchContext, "bus" | "follow" | "status"> {
  decide: (input: { peer: string; profile: string; cwd: string; runner?: string }) => Decision;
  resolvePeer: PeerResolver;
  /** Timeout sent with tasks that name none (`outbound.default_timeout_s`). */
  defaultTimeoutS?: number;
  /** Delay between status polls when SSE is unavailable (ms). */
  pollMs?: number;
}

/** Makes a fresh client task id: time-ordered and unguessable. */
export function newTaskId(): string {
  const rand = crypto.getRandomValues(new Uint8Array(8));
  return `t${Date.now().toString(36)}${
    [...rand].map((b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

/** The requester side of delegation. One per daemon. */
export class Requester {
  readonly bus = new TaskBus();
  #follower: TaskFollower;
  #dispatch: DispatchContext;
  #closed = false;

  constructor(private readonly deps: DelegationDeps) {
    this.#follower = new TaskFollower({ ...deps, bus: this.bus });
    this.#dispatch = {
      ...deps,
      bus: this.bus,
      follow: (task, address) => this.#follow(task, address),
      status: (id) => this.status(id),
    };
  }

  /**
   * Delegates a task: decide, record, dispatch. Returns as soon as the peer accepted (or
   * refused) it.
   */
  async delegate(input: DelegateInput): Promise<DelegateOutcome> {
    const id = input.id ?? newTaskId();
    const verdict = await this.#decide(input);
    const audit = {
      kind: "outbound.decision",
      task_id: id,
      actor: { node: this.deps.self, role: "requester" },
      data: { peer: input.peer, profile: input.profile, cwd: input.cwd },
    };
    if (!verdict.allow) {
      recordDecision(this.deps.store, audit, verdict);
      const message = verdict.reason + (verdict.hint ? ` (${verdict.hint})` : "");
      return { ok: false, kind: "denied_locally", message, rule: verdict.rule };
    }
    const timeoutS = input.timeout_s ?? this.deps.defaultTimeoutS;
    const request: TaskRequest = {
      id,
      prompt: input.prompt,
      cwd: input.cwd,
      profile: input.profile,
      ...(input.runner ? { runner: input.runner } : {}),
      ...(timeoutS ? { timeout_s: timeoutS } : {}),
    };
    const recorded = recordDecision(this.deps.store, audit, {
      allow: true,
      rule: verdict.rule,
      reason: verdict.reason,
      data: { prompt_bytes: new TextEncoder().encode(input.prompt).length },
      task: {
        direction: "outbound",
        id,
        peer: input.peer,
        profile: input.profile,
        runner: input.runner ?? "",
        cwd: input.cwd,
        prompt: input.prompt,
        timeout_s: timeoutS ?? null,
        request_hash: requestHash(request),
      },
    });
    if (recorded.outcome === "conflict") {
      const message =
        `task id ${id} is already used for a different request; omit the id to get a fresh one`;
      return { ok: false, kind: "conflict", message };
    }
    const resolved = verdict.resolved;
    return await dispatch(this.#dispatch, { request, peer: input.peer, recorded, resolved });
  }

  /**
   * Outbound policy, then which node the name means, checked with whois right before anything
   * is sent. A refusal of either is a local denial: nothing is stored or sent. A peer that is
   * merely offline is allowed here and recorded as a failed attempt.
   */
  async #decide(input: DelegateInput): Promise<Deny | Allow & { resolved: ResolvedPeer }> {
    const { peer, profile, cwd, runner } = input;
    const decision = this.deps.decide({ peer, profile, cwd, runner });
    if (!decision.allow) return decision;
    const resolved = await this.deps.resolvePeer(peer);
    if (!resolved.ok && resolved.rule) return deny(resolved.rule, resolved.message);
    return { ...decision, resolved };
  }

  #follow(task: TaskRecord, address: PeerAddress): void {
    if (this.#closed) return;
    this.#follower.follow(task, address);
  }

  /** The local view of an outbound task. */
  status(id: string): TaskStatus | null {
    const t = getTask(this.deps.store, "outbound", id);
    return t ? toTaskStatus(t, lastEvent(this.deps.store, "outbound", id)) : null;
  }

  /** The stored record (includes the peer name). */
  record(id: string): TaskRecord | null {
    return getTask(this.deps.store, "outbound", id);
  }

  /** The stored result, once the task finished. */
  result(id: string): TaskResult | null {
    return getResult(this.deps.store, "outbound", id);
  }

  /** Stored events after `afterSeq`. */
  events(id: string, afterSeq: number): TaskEvent[] {
    return listEvents(this.deps.store, "outbound", id, afterSeq);
  }

  /** Recent outbound tasks. */
  list(filter: { state?: TaskState; peer?: string; limit?: number }): TaskRecord[] {
    return listTasks(this.deps.store, {
      direction: "outbound",
      ...filter,
      limit: filter.limit ?? 20,
    });
  }

  /** Waits until the task is terminal, has events after `afterSeq`, or `timeoutMs` passed. */
  async wait(
    id: string,
    afterSeq: number,
    timeoutMs: number,
    signal?: AbortSignal,
    untilTerminal = false,
  ): Promise<{ status: TaskStatus; events: TaskEvent[] } | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const wakeIn = deadline - Date.now();
      // Waiting for the end, a change that does not end the task is seen by its state alone.
      if (untilTerminal && wakeIn > 0 && !signal?.aborted) {
        const state = getTaskState(this.deps.store, "outbound", id);
        if (state === null) return null;
        if (!isTerminal(state)) {
          await this.bus.waitFor(id, wakeIn, signal);
          continue;
        }
      }
      const status = this.status(id);
      if (!status) return null;
      const terminal = isTerminal(status.state);
      // Until terminal, events are read only for the answer (a waiter with no use for each
      // event wakes once per task, not once per event).
      const events = untilTerminal && !terminal ? [] : this.events(id, afterSeq);
      const left = deadline - Date.now();
      if (terminal || events.length || left <= 0 || signal?.aborted) {
        if (untilTerminal && !terminal) return { status, events: this.events(id, afterSeq) };
        return { status, events };
      }
      await this.bus.waitFor(id, left, signal);
    }
  }

  /** Asks the peer to cancel; the follower records the final state. */
  async cancel(
    id: string,
  ): Promise<{ ok: true; task: TaskStatus } | { ok: false; message: string; notFound?: boolean }> {
    const task = this.record(id);
    if (!task) {
      return {
        ok: false,
        notFound: true,
        message: `no outbound task ${id}; list them with 'cmesh tasks list'`,
      };
    }
    if (isTerminal(task.state)) return { ok: true, task: this.status(id)! };
    const resolved = await this.deps.resolvePeer(task.peer);
    if (!resolved.ok) return { ok: false, message: resolved.message };
    const res = await new PeerClient(resolved.address).cancel(id);
    appendAudit(this.deps.store, {
      kind: "outbound.cancel",
      task_id: id,
      actor: { node: this.deps.self },
      data: { peer: task.peer, ok: res.ok },
    });
    if (!res.ok) {
      const f = res.failure;
      return {
        ok: false,
        message: f.kind === "refused" ? `${task.peer} refused the cancel: ${f.message}` : f.message,
      };
    }
    this.#follow(task, resolved.address);
    return { ok: true, task: this.status(id)! };
  }

  /** After a restart: follow every outbound task that is not terminal yet. */
  async resumeAll(): Promise<number> {
    const open = listTasks(this.deps.store, {
      direction: "outbound",
      state: ["queued", "running"],
      limit: 10_000,
    });
    for (const t of open) {
      const resolved = await this.deps.resolvePeer(t.peer);
      if (resolved.ok) this.#follow(t, resolved.address);
    }
    return open.length;
  }

  /** Stops following (tasks stay stored and are resumed on the next start). */
  close(): void {
    this.#closed = true;
    this.#follower.close();
  }
}
