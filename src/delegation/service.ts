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
  saveResult,
  type TaskRecord,
  toTaskStatus,
  updateTaskState,
} from "../store/tasks.ts";
import { type PeerAddress, PeerClient, type PeerFailure } from "./peer_client.ts";
import { TaskBus } from "../scheduler/task_bus.ts";
import { logger } from "../util/log.ts";

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

/** The outcome of {@link DelegationService.delegate}. */
export type DelegateOutcome =
  | { ok: true; task: TaskStatus; peer: string }
  | {
    ok: false;
    kind:
      | "denied_locally"
      | "denied_by_peer"
      | "unreachable"
      | "not_cmesh"
      | "busy"
      | "invalid"
      | "conflict";
    message: string;
    rule?: string;
    task?: TaskStatus;
  };

/** How the service finds a peer's address (config, then LocalAPI status). */
export type PeerResolver = (
  name: string,
) => Promise<{ ok: true; address: PeerAddress } | { ok: false; message: string }>;

/** Dependencies of the delegation service. */
export interface DelegationDeps {
  store: Store;
  decide: (input: { peer: string; profile: string; cwd: string; runner?: string }) => Decision;
  resolvePeer: PeerResolver;
  /** This node's name, recorded as the actor of outbound audit records. */
  self: string;
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

const RETRY_DELAYS_MS = [250, 1000, 3000];

/** The requester side of delegation. One per daemon. */
export class DelegationService {
  readonly bus = new TaskBus();
  #followers = new Map<string, AbortController>();
  #closed = false;

  constructor(private readonly deps: DelegationDeps) {}

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
    const resolved = await this.deps.resolvePeer(input.peer);
    if (!resolved.ok) return { ok: false, kind: "unreachable", message: resolved.message };
    const request: TaskRequest = {
      id,
      prompt: input.prompt,
      cwd: input.cwd,
      profile: input.profile,
      ...(input.runner ? { runner: input.runner } : {}),
      ...(input.timeout_s ? { timeout_s: input.timeout_s } : {}),
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
        timeout_s: input.timeout_s ?? null,
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
            address: `${resolved.address.host}:${resolved.address.port}`,
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
    if (inserted.outcome === "existing" && inserted.task.remote_state !== null) {
      this.#follow(inserted.task, resolved.address);
      return { ok: true, task: this.status(id)!, peer: input.peer };
    }
    return await this.#dispatch(request, input.peer, resolved.address);
  }

  async #dispatch(
    request: TaskRequest,
    peerName: string,
    address: PeerAddress,
  ): Promise<DelegateOutcome> {
    const { store } = this.deps;
    const client = new PeerClient(address);
    let failure: PeerFailure | null = null;
    for (let attempt = 0; attempt <= RETRY_DELAYS_MS.length; attempt++) {
      const res = await client.submit(request);
      if (res.ok) {
        store.transaction(() => {
          updateTaskState(
            store,
            "outbound",
            request.id,
            res.value.state === "queued" ? "queued" : res.value.state,
            {
              remote_state: res.value.state,
            },
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
            data: { peer: peerName, remote_state: res.value.state },
          });
        });
        this.bus.emit(request.id);
        this.#follow(getTask(store, "outbound", request.id)!, address);
        return { ok: true, task: this.status(request.id)!, peer: peerName };
      }
      failure = res.failure;
      // Only transport failures are retried; a refusal is an answer.
      if (failure.kind === "refused" || failure.kind === "not_cmesh") break;
      if (attempt < RETRY_DELAYS_MS.length) {
        await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt]));
      }
    }
    return this.#recordDispatchFailure(request.id, peerName, failure!);
  }

  #recordDispatchFailure(id: string, peerName: string, failure: PeerFailure): DelegateOutcome {
    const { store } = this.deps;
    let kind: Exclude<DelegateOutcome, { ok: true }>["kind"];
    let state: TaskState = "failed";
    let message: string;
    let rule: string | undefined;
    if (failure.kind === "refused") {
      rule = failure.rule;
      const ruleText = failure.rule ? ` [peer rule ${failure.rule}]` : "";
      message =
        `${peerName} refused the task${ruleText}: "${failure.message}" (this is ${peerName}'s own reason)`;
      if (failure.status === 429) {
        kind = "busy";
        message += failure.retryAfterS ? `; retry in about ${failure.retryAfterS}s` : "";
      } else if (failure.status === 403 || failure.status === 503) {
        kind = "denied_by_peer";
        state = "denied";
      } else kind = "invalid";
    } else {
      kind = failure.kind;
      message = failure.message;
    }
    store.transaction(() => {
      updateTaskState(store, "outbound", id, state, {
        error: { code: kind, message, ...(rule ? { rule } : {}) },
      });
      appendEvent(store, "outbound", id, { kind: "error", text: message });
      appendAudit(store, {
        kind: "outbound.failed",
        task_id: id,
        actor: { node: this.deps.self },
        decision: state === "denied" ? "deny" : null,
        rule: rule ?? null,
        reason: message,
        data: { peer: peerName },
      });
    });
    this.bus.emit(id);
    return { ok: false, kind, message, rule, task: this.status(id) ?? undefined };
  }

  /** Follows a dispatched task until it is terminal (SSE first, then polling). */
  #follow(task: TaskRecord, address: PeerAddress): void {
    if (this.#closed || this.#followers.has(task.id) || isTerminal(task.state)) return;
    const ctl = new AbortController();
    this.#followers.set(task.id, ctl);
    this.#followLoop(task.id, address, ctl.signal)
      .catch((e) =>
        logger("delegation").error("following {id} failed: {error}", {
          id: task.id,
          error: String(e),
        })
      )
      .finally(() => this.#followers.delete(task.id));
  }

  #remoteSeq(id: string): number {
    let max = 0;
    for (const ev of listEvents(this.deps.store, "outbound", id, 0, 100_000)) {
      const rs = (ev.data as { remote_seq?: number } | undefined)?.remote_seq;
      if (typeof rs === "number" && rs > max) max = rs;
    }
    return max;
  }

  async #followLoop(id: string, address: PeerAddress, signal: AbortSignal): Promise<void> {
    const { store } = this.deps;
    const client = new PeerClient(address);
    let after = this.#remoteSeq(id);
    const mirror = (ev: TaskEvent) => {
      if (ev.seq <= after) return;
      after = ev.seq;
      store.transaction(() => {
        appendEvent(store, "outbound", id, {
          kind: ev.kind,
          text: ev.text,
          data: { ...(ev.data ?? {}), remote_seq: ev.seq, remote_at: ev.at },
        });
        if (ev.kind === "state" && /^running/.test(ev.text)) {
          updateTaskState(store, "outbound", id, "running", { remote_state: "running" });
        }
      });
      this.bus.emit(id);
    };
    while (!signal.aborted) {
      const sse = await client.followEvents(id, after, mirror, signal);
      if (signal.aborted) return;
      const st = await client.status(id, signal);
      if (st.ok) {
        if (isTerminal(st.value.state)) {
          await this.#finish(id, client, st.value, signal);
          return;
        }
        if (st.value.state === "running") {
          if (updateTaskState(store, "outbound", id, "running", { remote_state: "running" })) {
            this.bus.emit(id);
          }
        }
      } else if (st.failure.kind === "refused" && st.failure.status === 404) {
        this.#recordDispatchFailure(id, address.name, {
          kind: "refused",
          status: 404,
          code: "not_found",
          message: "the peer no longer knows this task (its state was reset?)",
        });
        return;
      }
      if (!sse.ended) await new Promise((r) => setTimeout(r, this.deps.pollMs ?? 1000));
    }
  }

  async #finish(
    id: string,
    client: PeerClient,
    status: TaskStatus,
    signal: AbortSignal,
  ): Promise<void> {
    const { store } = this.deps;
    const res = await client.result(id, signal);
    store.transaction(() => {
      if (res.ok) saveResult(store, "outbound", id, res.value);
      updateTaskState(store, "outbound", id, status.state, {
        remote_state: status.state,
        error: status.error,
      });
      appendEvent(store, "outbound", id, {
        kind: "state",
        text: `${status.state} on ${client.peer.name}`,
      });
      appendAudit(store, {
        kind: "outbound.finish",
        task_id: id,
        actor: { node: this.deps.self },
        data: { peer: client.peer.name, state: status.state, result_stored: res.ok },
      });
    });
    this.bus.emit(id);
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
  ): Promise<{ status: TaskStatus; events: TaskEvent[] } | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = this.status(id);
      if (!status) return null;
      const events = this.events(id, afterSeq);
      const left = deadline - Date.now();
      if (isTerminal(status.state) || events.length || left <= 0 || signal?.aborted) {
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
    for (const c of this.#followers.values()) c.abort("shutdown");
  }
}
