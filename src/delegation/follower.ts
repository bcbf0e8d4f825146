/**
 * @module
 * Following a dispatched task at its peer until it is terminal: SSE first, polling as the
 * fallback, every remote event mirrored into the local log with its `remote_seq` (so a restart
 * resumes where it stopped), and the result stored at the end. Also records a peer's refusal
 * or a transport failure, with the peer's reason verbatim and labelled as the peer's.
 */
import type { QuotedRule } from "../protocol/rules.ts";
import {
  isTerminal,
  type TaskEvent,
  type TaskResult,
  type TaskState,
  type TaskStatus,
} from "../protocol/task.ts";
import { quoteTaskError, type TaskErrorCode } from "../protocol/task_errors.ts";
import type { TaskBus } from "../scheduler/task_bus.ts";
import { appendAudit } from "../store/audit.ts";
import type { Store } from "../store/db.ts";
import { appendEvent, listEvents, saveResult } from "../store/task_events.ts";
import { getTask, type TaskRecord, updateTaskState } from "../store/tasks.ts";
import { logger } from "../util/log.ts";
import { type PeerAddress, PeerClient, type PeerFailure, type PeerResult } from "./peer_client.ts";
import { PeerStream, type PeerStreamHandlers } from "./peer_stream.ts";

/** Why a delegation did not go through, as the agent and the CLI see it (the task's error code). */
export type FailureKind = Extract<
  TaskErrorCode,
  "denied_by_peer" | "unreachable" | "not_cmesh" | "peer_response_too_large" | "busy" | "invalid"
>;

/** Classifies a peer failure into the stored state and an actionable message. Pure. */
export function describePeerFailure(
  peerName: string,
  failure: PeerFailure,
): { kind: FailureKind; state: TaskState; message: string; rule?: QuotedRule } {
  if (failure.kind === "too_large") {
    return { kind: "peer_response_too_large", state: "failed", message: failure.message };
  }
  if (failure.kind !== "refused") {
    return { kind: failure.kind, state: "failed", message: failure.message };
  }
  const ruleText = failure.rule ? ` [peer rule ${failure.rule}]` : "";
  let message =
    `${peerName} refused the task${ruleText}: "${failure.message}" (this is ${peerName}'s own reason)`;
  if (failure.status === 429) {
    if (failure.retryAfterS) message += `; retry in about ${failure.retryAfterS}s`;
    return { kind: "busy", state: "failed", message, rule: failure.rule };
  }
  // A policy or identity refusal is a denial; other 503s (e.g. storage_unavailable) pass.
  if (
    failure.status === 403 || (failure.status === 503 && failure.code === "identity_unavailable")
  ) {
    return { kind: "denied_by_peer", state: "denied", message, rule: failure.rule };
  }
  if (failure.status === 503) return { kind: "busy", state: "failed", message, rule: failure.rule };
  return { kind: "invalid", state: "failed", message, rule: failure.rule };
}

/** Stores a peer failure: terminal state, error event and audit record in one transaction. */
export function recordPeerFailure(
  store: Store,
  bus: TaskBus,
  self: string,
  id: string,
  peerName: string,
  failure: PeerFailure,
): { kind: FailureKind; message: string; rule?: QuotedRule } {
  const { kind, state, message, rule } = describePeerFailure(peerName, failure);
  store.transaction(() => {
    updateTaskState(store, "outbound", id, state, {
      error: { code: kind, message, ...(rule ? { rule } : {}) },
    });
    appendEvent(store, "outbound", id, { kind: "error", text: message });
    appendAudit(store, {
      kind: "outbound.failed",
      task_id: id,
      actor: { node: self },
      decision: state === "denied" ? "deny" : null,
      rule: rule ?? null,
      reason: message,
      data: { peer: peerName },
    });
  });
  bus.emit(id);
  return { kind, message, rule };
}

/**
 * Background following of open outbound tasks: every task at a peer over that peer's one
 * event stream (`peer_stream.ts`), or, with a peer that has no such stream, one follower per
 * task (its own SSE, polling as the fallback).
 */
export class TaskFollower {
  #followers = new Map<string, AbortController>();
  #streams = new Map<string, PeerStream>();
  #streamOf = new Map<string, PeerStream>();
  #perTaskPeers = new Set<string>();
  #after = new Map<string, number>();
  #slots = new Slots(8);

  constructor(
    private readonly deps: {
      store: Store;
      bus: TaskBus;
      self: string;
      pollMs?: number;
      /** How long a peer's stream stays open with no task left (default `STREAM_LINGER_MS`). */
      streamLingerMs?: number;
    },
  ) {}

  /** Starts following `task` unless it is terminal or already followed. */
  follow(task: TaskRecord, address: PeerAddress): void {
    const id = task.id;
    if (this.#followers.has(id) || this.#streamOf.has(id) || isTerminal(task.state)) return;
    // The stream may have finished it meanwhile (see `adopt`): the stored state decides.
    const stored = getTask(this.deps.store, "outbound", id);
    if (!stored || isTerminal(stored.state)) return;
    const key = `${address.name}@${address.host}:${address.port}`;
    if (this.#perTaskPeers.has(key)) return this.#followOne(id, address);
    let stream = this.#streams.get(key);
    if (!stream) {
      stream = new PeerStream(
        new PeerClient(address),
        this.#handlers(key, address),
        this.deps.streamLingerMs,
      );
      this.#streams.set(key, stream);
    }
    this.#streamOf.set(id, stream);
    stream.add(id);
  }

  /** Stops every follower (the tasks are resumed on the next start). */
  close(): void {
    for (const c of this.#followers.values()) c.abort("shutdown");
    for (const s of this.#streams.values()) s.close();
    this.#streams.clear();
    this.#streamOf.clear();
  }

  #handlers(key: string, address: PeerAddress): PeerStreamHandlers {
    const client = new PeerClient(address);
    const { store, bus, self } = this.deps;
    const fail = (id: string, failure: PeerFailure) => {
      recordPeerFailure(store, bus, self, id, address.name, failure);
      this.#done(id);
    };
    return {
      after: (id) => this.#afterOf(id),
      adopt: (id) => {
        const t = getTask(store, "outbound", id);
        const stream = this.#streams.get(key);
        if (!t || isTerminal(t.state) || t.peer !== address.name || !stream) return false;
        if (this.#followers.has(id) || (this.#streamOf.get(id) ?? stream) !== stream) return false;
        this.#streamOf.set(id, stream);
        return true;
      },
      onEvent: (id, ev) => this.#mirror(id, ev),
      onEnd: (id, outcome) =>
        this.#slots.run(async () => {
          // Sent along by the peer: stored as it came, without asking twice more.
          if (
            outcome !== null && isTerminal(outcome.status.state) &&
            outcome.status.id === id && outcome.result.id === id
          ) {
            this.#store(id, client.peer.name, outcome.status, {
              ok: true,
              status: 200,
              value: outcome.result,
            });
            this.#done(id);
            return;
          }
          const st = await client.status(id);
          if (st.ok && isTerminal(st.value.state)) {
            await this.#finish(id, client, st.value);
            this.#done(id);
          } else if (!st.ok && st.failure.kind === "too_large") fail(id, st.failure);
          else {
            // The stream said it ended but the status disagrees or failed: ask task by task.
            this.#done(id);
            this.#followOne(id, address);
          }
        }),
      onCheck: (id) =>
        this.#slots.run(async () => {
          const st = await client.status(id);
          if (!st.ok) {
            if (st.failure.kind === "too_large") fail(id, st.failure);
            else if (st.failure.kind === "refused" && st.failure.status === 404) {
              fail(id, notFoundAtPeer(store, id, address.name));
            }
            return; // a transport failure: the stream is reopened and lists it again
          }
          if (!isTerminal(st.value.state)) return; // the stream delivers what comes
          // Ended before the stream could follow it: the rest of its events, then the result.
          const rest = await client.followEvents(
            id,
            this.#afterOf(id),
            (ev) => this.#mirror(id, ev),
            AbortSignal.timeout(30_000),
          );
          if (rest.failure) return fail(id, rest.failure);
          await this.#finish(id, client, st.value);
          this.#done(id);
        }),
      onFailure: (ids, failure) => {
        for (const id of ids) fail(id, failure);
      },
      onUnsupported: (ids) => {
        this.#perTaskPeers.add(key);
        this.#streams.get(key)?.close();
        this.#streams.delete(key);
        for (const id of ids) {
          this.#streamOf.delete(id);
          this.#followOne(id, address);
        }
      },
    };
  }

  #done(id: string): void {
    this.#streamOf.get(id)?.remove(id);
    this.#streamOf.delete(id);
    this.#after.delete(id);
  }

  #followOne(id: string, address: PeerAddress): void {
    if (this.#followers.has(id)) return;
    const ctl = new AbortController();
    this.#followers.set(id, ctl);
    this.#loop(id, address, ctl.signal)
      .catch((e) =>
        logger("delegation").error("following {id} failed: {error}", { id, error: String(e) })
      )
      .finally(() => {
        this.#followers.delete(id);
        this.#after.delete(id);
      });
  }

  #afterOf(id: string): number {
    let after = this.#after.get(id);
    if (after === undefined) {
      after = 0;
      for (const ev of listEvents(this.deps.store, "outbound", id, 0, 100_000)) {
        const rs = (ev.data as { remote_seq?: number } | undefined)?.remote_seq;
        if (typeof rs === "number" && rs > after) after = rs;
      }
      this.#after.set(id, after);
    }
    return after;
  }

  /** Stores a remote event once (by its seq) with its `remote_seq`. */
  #mirror(id: string, ev: TaskEvent): void {
    const { store, bus } = this.deps;
    if (ev.seq <= this.#afterOf(id)) return;
    this.#after.set(id, ev.seq);
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
    bus.emit(id);
  }

  async #loop(id: string, address: PeerAddress, signal: AbortSignal): Promise<void> {
    const { store, bus } = this.deps;
    const client = new PeerClient(address);
    const mirror = (ev: TaskEvent) => this.#mirror(id, ev);
    while (!signal.aborted) {
      const sse = await client.followEvents(id, this.#afterOf(id), mirror, signal);
      if (signal.aborted) return;
      if (sse.failure) {
        recordPeerFailure(store, bus, this.deps.self, id, address.name, sse.failure);
        return;
      }
      const st = await client.status(id, signal);
      if (!st.ok && st.failure.kind === "too_large") {
        recordPeerFailure(store, bus, this.deps.self, id, address.name, st.failure);
        return;
      }
      if (st.ok) {
        if (isTerminal(st.value.state)) {
          await this.#finish(id, client, st.value, signal);
          return;
        }
        if (
          st.value.state === "running" &&
          updateTaskState(store, "outbound", id, "running", { remote_state: "running" })
        ) {
          bus.emit(id);
        }
      } else if (st.failure.kind === "refused" && st.failure.status === 404) {
        recordPeerFailure(
          store,
          bus,
          this.deps.self,
          id,
          address.name,
          notFoundAtPeer(store, id, address.name),
        );
        return;
      }
      if (!sse.ended) await new Promise((r) => setTimeout(r, this.deps.pollMs ?? 1000));
    }
  }

  async #finish(
    id: string,
    client: PeerClient,
    status: TaskStatus,
    signal?: AbortSignal,
  ): Promise<void> {
    const res = await client.result(id, signal);
    this.#store(id, client.peer.name, status, res);
  }

  /** Stores a terminal status and its result (or the failure to get it) in one transaction. */
  #store(id: string, peer: string, status: TaskStatus, res: PeerResult<TaskResult>): void {
    const { store } = this.deps;
    if (!res.ok && res.failure.kind === "too_large") {
      recordPeerFailure(store, this.deps.bus, this.deps.self, id, peer, res.failure);
      return;
    }
    store.transaction(() => {
      if (res.ok) saveResult(store, "outbound", id, res.value);
      updateTaskState(store, "outbound", id, status.state, {
        remote_state: status.state,
        error: status.error && quoteTaskError(status.error),
      });
      appendEvent(store, "outbound", id, {
        kind: "state",
        text: `${status.state} on ${peer}`,
      });
      appendAudit(store, {
        kind: "outbound.finish",
        task_id: id,
        actor: { node: this.deps.self },
        data: { peer, state: status.state, result_stored: res.ok },
      });
    });
    this.deps.bus.emit(id);
  }
}

/**
 * Why a task the peer answers 404 for ends. One it never acknowledged (its answer to the
 * submission was lost: a daemon killed mid-request) never reached it: not delivered, so it did
 * not run there. One it acknowledged and then forgot had its state reset there.
 */
function notFoundAtPeer(store: Store, id: string, peer: string): PeerFailure {
  if (getTask(store, "outbound", id)?.remote_state == null) {
    return {
      kind: "unreachable",
      message: `${peer} never received this task: the answer to its submission was lost, and ` +
        `${peer} does not know the task, so it did not run there; delegate it again`,
    };
  }
  return {
    kind: "refused",
    status: 404,
    code: "not_found",
    message: "the peer no longer knows this task (its state was reset?)",
  };
}

/** At most `n` of the given jobs at once (finishing a thousand tasks is not 2,000 requests). */
class Slots {
  #free: number;
  #waiting: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async run(job: () => Promise<void>): Promise<void> {
    if (this.#free === 0) await new Promise<void>((r) => this.#waiting.push(r));
    else this.#free--;
    try {
      await job();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}
