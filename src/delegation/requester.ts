/**
 * @module
 * The outbound flow: outbound policy → durable outbound record + audit (one transaction) →
 * `POST /v1/tasks` on the peer (safe retries: the task id makes it idempotent) → follow its
 * progress (SSE, falling back to polling) → store the result locally.
 *
 * The peer's refusals are kept verbatim and labelled as the peer's.
 */
import type { Decision } from "../policy/decision.ts";
import {
  isTerminal,
  type TaskEvent,
  type TaskRequest,
  type TaskResult,
  type TaskState,
  type TaskStatus,
} from "../protocol/task.ts";
import { appendAudit } from "../store/audit.ts";
import type { Store } from "../store/db.ts";
import { requestHash } from "../store/hash.ts";
import {
  appendEvent,
  getResult,
  getTask,
  insertTask,
  lastEvent,
  listEvents,
  listTasks,
  type TaskRecord,
  toTaskStatus,
  updateTaskState,
} from "../store/tasks.ts";
import { type PeerAddress, PeerClient, type PeerFailure } from "./peer_client.ts";
import type { PeerTarget } from "./peer_resolve.ts";
import { type FailureKind, recordPeerFailure, TaskFollower } from "./follower.ts";
import { TaskBus } from "../scheduler/task_bus.ts";

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

/** The outcome of {@link Requester.delegate}. */
export type DelegateOutcome =
  | { ok: true; task: TaskStatus; peer: string }
  | {
    ok: false;
    kind: FailureKind | "denied_locally" | "conflict";
    message: string;
    rule?: string;
    task?: TaskStatus;
  };

/**
 * How the requester finds a peer's address (config, then LocalAPI status, checked with whois; see
 * `peer_resolve.ts`). A failure with a `rule` is a refusal: nothing is recorded or sent.
 */
export type PeerResolver = (
  name: string,
) => Promise<
  { ok: true; address: PeerAddress; target?: PeerTarget } | {
    ok: false;
    message: string;
    rule?: string;
  }
>;

/** Dependencies of the requester. */
export interface DelegationDeps {
  store: Store;
  decide: (input: { peer: string; profile: string; cwd: string; runner?: string }) => Decision;
  resolvePeer: PeerResolver;
  /** Called when the peer's cmesh answered a submission (pins the peer on first contact). */
  onContact?: (peer: string, target: PeerTarget) => void;
  /** This node's name, recorded as the actor of outbound audit records. */
  self: string;
  /** Timeout sent with tasks that name none (`outbound.default_timeout_s`). */
  defaultTimeoutS?: number;
  /** Delay between status polls when SSE is unavailable (ms). */
  pollMs?: number;
  /** Timeout of one request to a peer (default 10 s). */
  peerTimeoutMs?: number;
}

/** Makes a fresh client task id: time-ordered and unguessable. */
export function newTaskId(): string {
  const rand = crypto.getRandomValues(new Uint8Array(8));
  return `t${Date.now().toString(36)}${
    [...rand].map((b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

const RETRY_DELAYS_MS = [250, 1000, 3000];
/** How long the one status look after failed submissions may take. */
const STATUS_PROBE_MS = 3000;

/** The requester side of delegation. One per daemon. */
export class Requester {
  readonly bus = new TaskBus();
  #follower: TaskFollower;
  #closed = false;

  constructor(private readonly deps: DelegationDeps) {
    this.#follower = new TaskFollower({
      store: deps.store,
      bus: this.bus,
      self: deps.self,
      pollMs: deps.pollMs,
    });
  }

  /** Delegates a task. Returns as soon as the peer accepted (or refused) it. */
  async delegate(input: DelegateInput): Promise<DelegateOutcome> {
    const { store } = this.deps;
    const decision = this.deps.decide({
      peer: input.peer,
      profile: input.profile,
      cwd: input.cwd,
      runner: input.runner,
    });
    const id = input.id ?? newTaskId();
    const actor = { node: this.deps.self, role: "requester" };
    if (!decision.allow) {
      appendAudit(store, {
        kind: "outbound.decision",
        task_id: id,
        actor,
        decision: "deny",
        rule: decision.rule,
        reason: decision.reason,
        data: { peer: input.peer, profile: input.profile, cwd: input.cwd },
      });
      return {
        ok: false,
        kind: "denied_locally",
        message: decision.reason + (decision.hint ? ` (${decision.hint})` : ""),
        rule: decision.rule,
      };
    }
    // Which node the name means, checked with whois, right before anything is sent. A refusal
    // (foreign, ambiguous, pin or whois mismatch) is a local denial: nothing is stored or sent.
    const resolved = await this.deps.resolvePeer(input.peer);
    if (!resolved.ok && resolved.rule) {
      appendAudit(store, {
        kind: "outbound.decision",
        task_id: id,
        actor,
        decision: "deny",
        rule: resolved.rule,
        reason: resolved.message,
        data: { peer: input.peer, profile: input.profile, cwd: input.cwd },
      });
      return { ok: false, kind: "denied_locally", message: resolved.message, rule: resolved.rule };
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
    const inserted = store.transaction(() => {
      const r = insertTask(store, {
        direction: "outbound",
        id,
        peer: input.peer,
        profile: input.profile,
        runner: input.runner ?? "",
        cwd: input.cwd,
        prompt: input.prompt,
        timeout_s: timeoutS ?? null,
        request_hash: requestHash(request),
      });
      if (r.outcome === "created") {
        appendAudit(store, {
          kind: "outbound.decision",
          task_id: id,
          actor,
          decision: "allow",
          rule: decision.rule,
          reason: decision.reason,
          data: {
            peer: input.peer,
            profile: input.profile,
            cwd: input.cwd,
            prompt_bytes: new TextEncoder().encode(input.prompt).length,
          },
        });
      }
      return r;
    });
    if (inserted.outcome === "conflict") {
      return {
        ok: false,
        kind: "conflict",
        message:
          `task id ${id} is already used for a different request; omit the id to get a fresh one`,
      };
    }
    // An offline or unknown peer is stored and audited as a failed attempt.
    if (!resolved.ok) {
      return this.#recordDispatchFailure(id, input.peer, {
        kind: "unreachable",
        message: resolved.message,
      });
    }
    if (inserted.outcome === "existing" && isTerminal(inserted.task.state)) {
      return { ok: true, task: this.status(id)!, peer: input.peer };
    }
    if (inserted.outcome === "existing" && inserted.task.remote_state !== null) {
      this.#follow(inserted.task, resolved.address);
      return { ok: true, task: this.status(id)!, peer: input.peer };
    }
    // A repeat of an id whose first submission got no answer: it may already be at the peer.
    const earlier: PeerFailure | null = inserted.outcome === "existing"
      ? {
        kind: "unreachable",
        maybeDelivered: true,
        message: "an earlier submission of this id got no answer",
      }
      : null;
    return await this.#dispatch(request, input.peer, resolved.address, resolved.target, earlier);
  }

  async #dispatch(
    request: TaskRequest,
    peerName: string,
    address: PeerAddress,
    target: PeerTarget | undefined,
    earlier: PeerFailure | null,
  ): Promise<DelegateOutcome> {
    const { store } = this.deps;
    const client = new PeerClient(address, this.deps.peerTimeoutMs);
    let failure: PeerFailure | null = null;
    // Set once an attempt may have reached the peer: the same id may then run there already.
    let lostAnswer: PeerFailure | null = earlier;
    for (let attempt = 0; attempt <= RETRY_DELAYS_MS.length; attempt++) {
      const res = await client.submit(request);
      // The peer's cmesh answered (accepted or refused): a first contact pins it.
      if (target && (res.ok || res.failure.kind === "refused")) {
        this.deps.onContact?.(peerName, target);
      }
      if (res.ok) {
        store.transaction(() => {
          updateTaskState(
            store,
            "outbound",
            request.id,
            res.value.state === "queued" ? "queued" : res.value.state,
            { remote_state: res.value.state, runner: res.value.runner },
          );
          appendEvent(store, "outbound", request.id, {
            kind: "state",
            text: `accepted by ${peerName} (${res.value.state})`,
            data: { remote_state: res.value.state },
          });
          appendAudit(store, {
            kind: "outbound.dispatch",
            task_id: request.id,
            actor: { node: this.deps.self },
            data: {
              peer: peerName,
              address: `${address.host}:${address.port}`,
              remote_state: res.value.state,
              ...(target ? { stable_id: target.stableId, pin: target.pin } : {}),
            },
          });
        });
        this.bus.emit(request.id);
        this.#follow(getTask(store, "outbound", request.id)!, address);
        return { ok: true, task: this.status(request.id)!, peer: peerName };
      }
      failure = res.failure;
      if (failure.kind === "unreachable" && failure.maybeDelivered) lostAnswer ??= failure;
      // Only transport failures are retried; a refusal is an answer.
      if (failure.kind !== "unreachable") break;
      if (attempt < RETRY_DELAYS_MS.length) {
        await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt]));
      }
    }
    if (lostAnswer && (failure!.kind === "unreachable" || failure!.kind === "not_cmesh")) {
      return this.#followLostAnswer(request.id, peerName, address, lostAnswer, failure!);
    }
    // Every try timed out (or failed to connect): a busy peer may still have stored it. One
    // short status look decides; a port that drops packets answers that in 3 s as well.
    if (failure!.kind === "unreachable") {
      const seen = await client.status(request.id, AbortSignal.timeout(STATUS_PROBE_MS));
      if (seen.ok) {
        return this.#followLostAnswer(request.id, peerName, address, failure!, failure!);
      }
    }
    return this.#recordDispatchFailure(request.id, peerName, failure!);
  }

  /**
   * The peer may have stored the task before the connection broke (e.g. its daemon was killed
   * mid-answer) and may run it after a restart. Failing it here would leave the two sides
   * disagreeing, so the task is followed like an accepted one: the peer's answer decides (its
   * status once it is back; 404 there fails the task as never received).
   */
  #followLostAnswer(
    id: string,
    peerName: string,
    address: PeerAddress,
    lost: PeerFailure,
    last: PeerFailure,
  ): DelegateOutcome {
    const { store } = this.deps;
    store.transaction(() => {
      appendEvent(store, "outbound", id, {
        kind: "log",
        text: `the answer of ${peerName} was lost (${lost.message}); since it may hold the task, ` +
          `cmesh follows it there until it answers (last try: ${last.message})`,
      });
      appendAudit(store, {
        kind: "outbound.dispatch",
        task_id: id,
        actor: { node: this.deps.self },
        reason: `answer lost: ${lost.message}`,
        data: { peer: peerName, address: `${address.host}:${address.port}`, remote_state: null },
      });
    });
    this.bus.emit(id);
    this.#follow(getTask(store, "outbound", id)!, address);
    return { ok: true, task: this.status(id)!, peer: peerName };
  }

  #recordDispatchFailure(id: string, peerName: string, failure: PeerFailure): DelegateOutcome {
    const f = recordPeerFailure(this.deps.store, this.bus, this.deps.self, id, peerName, failure);
    return { ok: false, ...f, task: this.status(id) ?? undefined };
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
