/**
 * @module
 * Following every open task at one peer over one `POST /v1/events` stream (see
 * `protocol/events.ts`). The stream is opened when the first task is followed and closed
 * {@link STREAM_LINGER_MS} after the last one ended: a delegation soon after finds it open (one
 * request and its checks fewer on both sides), while a requester that stays idle soon holds no
 * connection and does no work. A broken stream is reopened with back-off from where each task
 * stood (`after`, from the mirrored `remote_seq`), so nothing is lost or repeated. Messages are
 * bounded while read.
 */
import {
  StreamTaskEnd,
  StreamTaskEvent,
  type StreamTaskEvent as StreamTaskEventT,
  StreamTaskResult,
  type StreamTaskResult as StreamTaskResultT,
  StreamTaskUnknown,
} from "../protocol/events.ts";
import type { TaskEvent } from "../protocol/task.ts";
import { logger } from "../util/log.ts";
import { MAX_PEER_EVENT_CHARS, type PeerClient, type PeerFailure } from "./peer_client.ts";
import { readSse, SseTooLarge } from "./sse.ts";

/** What the stream asks of its owner (the follower). */
export interface PeerStreamHandlers {
  /** The last remote seq stored for a task (where the stream resumes it). */
  after(id: string): number;
  /**
   * A message came for a task this stream does not follow (yet): true when it is an open task
   * of ours at this peer, which is then followed from here. Its dispatch may still be waiting
   * for the peer's answer while the task already runs, or has even ended, there.
   */
  adopt(id: string): boolean;
  /** A new event of a followed task, in order; the handler drops ones it already has. */
  onEvent(id: string, ev: TaskEvent): void;
  /**
   * The task is terminal at the peer and every event of it was delivered; `outcome` is its
   * status and result when the peer sent them along (else they must be asked for).
   */
  onEnd(id: string, outcome: StreamTaskResultT | null): Promise<void>;
  /** The stream cannot vouch for this task (unknown to the peer, or followed too late). */
  onCheck(id: string): Promise<void>;
  /** The peer broke the rules (e.g. an oversized message): fail these tasks. */
  onFailure(ids: string[], failure: PeerFailure): void;
  /** The peer has no `POST /v1/events` (an older cmesh): follow these tasks one by one. */
  onUnsupported(ids: string[]): void;
}

const log = logger("delegation");
const BACKOFF_MS = [250, 1000, 2000, 5000, 10_000, 30_000];

/** How long a stream with no task left stays open for the next one (ms). */
export const STREAM_LINGER_MS = 10_000;

/** One peer's event stream and the tasks it follows. */
export class PeerStream {
  #tasks = new Set<string>();
  #ctl: AbortController | null = null;
  #running = false;
  #closed = false;
  /** Tasks the stream being opened did not list (followed while it was connecting). */
  #unlisted = new Set<string>();
  /** Outcomes sent just before their task's `end` (one per followed task at most). */
  #outcomes = new Map<string, StreamTaskResultT>();
  /** Closes the stream once it has had no task for `lingerMs`. */
  #lingering: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly client: PeerClient,
    private readonly handlers: PeerStreamHandlers,
    private readonly lingerMs: number = STREAM_LINGER_MS,
  ) {}

  /** How many tasks it follows. */
  get size(): number {
    return this.#tasks.size;
  }

  /** Follows `id` (opens the stream if it is not open). */
  add(id: string): void {
    if (this.#closed || this.#tasks.has(id)) return;
    this.#stopLingering();
    this.#tasks.add(id);
    this.#unlisted.add(id);
    this.#kick();
  }

  /** True when `id` is followed, or a message about it may start following it (see `adopt`). */
  #follows(id: string): boolean {
    if (this.#tasks.has(id)) return true;
    if (this.#closed || !this.handlers.adopt(id)) return false;
    this.#stopLingering();
    this.#tasks.add(id);
    return true;
  }

  #kick(): void {
    if (this.#running || this.#closed || !this.#tasks.size) return;
    this.#running = true;
    // Let every task resumed or dispatched in this turn join before the stream opens.
    setTimeout(() =>
      this.#loop().finally(() => {
        this.#running = false;
        this.#kick();
      }), 0);
  }

  /** Stops following `id`; the stream closes when nothing is left, after `lingerMs`. */
  remove(id: string): void {
    this.#tasks.delete(id);
    this.#unlisted.delete(id);
    this.#outcomes.delete(id);
    if (this.#tasks.size > 0 || this.#lingering !== null) return;
    const timer = setTimeout(() => {
      this.#lingering = null;
      if (this.#tasks.size === 0) this.#ctl?.abort("idle");
    }, this.lingerMs);
    // A lingering stream never keeps the process alive.
    Deno.unrefTimer(Number(timer));
    this.#lingering = timer;
  }

  /** Closes the stream for good (shutdown). */
  close(): void {
    this.#closed = true;
    this.#stopLingering();
    this.#ctl?.abort("shutdown");
  }

  #stopLingering(): void {
    if (this.#lingering === null) return;
    clearTimeout(this.#lingering);
    this.#lingering = null;
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (!this.#closed && this.#tasks.size) {
      const ctl = new AbortController();
      this.#ctl = ctl;
      const after: Record<string, number> = {};
      for (const id of this.#tasks) after[id] = this.handlers.after(id);
      this.#unlisted.clear();
      const outcome = await this.#read(after, ctl.signal);
      this.#ctl = null;
      if (outcome === "unsupported" || outcome === "failed" || this.#closed) return;
      if (outcome === "progress") failures = 0;
      if (!this.#tasks.size) return;
      if (ctl.signal.aborted) continue; // closed for idleness, and a task came meanwhile
      const wait = BACKOFF_MS[Math.min(failures++, BACKOFF_MS.length - 1)];
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  async #read(
    after: Record<string, number>,
    signal: AbortSignal,
  ): Promise<"progress" | "broken" | "unsupported" | "failed"> {
    const opened = await this.client.openEvents(after, signal);
    if (!opened.ok) {
      if (opened.status === 404) {
        const ids = [...this.#tasks];
        this.#tasks.clear();
        this.handlers.onUnsupported(ids);
        return "unsupported";
      }
      if (!signal.aborted) {
        log.info("event stream to {peer} not opened: {why}", {
          peer: this.client.peer.name,
          why: opened.message,
        });
      }
      return "broken";
    }
    let progress = false;
    try {
      for await (const msg of readSse(opened.body, MAX_PEER_EVENT_CHARS, signal)) {
        progress = true;
        const data = parseJson(msg.data);
        if (msg.event === "task") {
          const m = StreamTaskEvent.safeParse(data);
          if (m.success && this.#follows(m.data.task_id)) this.#deliver(m.data);
        } else if (msg.event === "result") {
          const m = StreamTaskResult.safeParse(data);
          if (m.success && this.#tasks.has(m.data.task_id)) {
            this.#outcomes.set(m.data.task_id, m.data);
          }
        } else if (msg.event === "end") {
          const m = StreamTaskEnd.safeParse(data);
          if (m.success && this.#follows(m.data.task_id)) {
            const id = m.data.task_id;
            const outcome = this.#outcomes.get(id) ?? null;
            this.remove(id);
            this.#settle(id, this.handlers.onEnd(id, outcome));
          }
        } else if (msg.event === "unknown") {
          const m = StreamTaskUnknown.safeParse(data);
          if (m.success && this.#tasks.has(m.data.task_id)) {
            this.#settle(m.data.task_id, this.handlers.onCheck(m.data.task_id));
          }
        } else if (msg.event === "ready") {
          for (const id of this.#unlisted) this.#settle(id, this.handlers.onCheck(id));
          this.#unlisted.clear();
        }
      }
    } catch (err) {
      if (err instanceof SseTooLarge) {
        const failure: PeerFailure = {
          kind: "too_large",
          message: `${this.client.peer.name} sent an event-stream message larger than ` +
            `${MAX_PEER_EVENT_CHARS} bytes; cmesh stopped reading it (a cmesh worker never ` +
            `sends that much: is it misbehaving?)`,
        };
        const ids = [...this.#tasks];
        this.#tasks.clear();
        this.handlers.onFailure(ids, failure);
        return "failed";
      }
      if (!signal.aborted) {
        log.info("event stream to {peer} broke: {error}", {
          peer: this.client.peer.name,
          error: String(err),
        });
      }
    }
    return progress ? "progress" : "broken";
  }

  #deliver(m: StreamTaskEventT): void {
    this.handlers.onEvent(m.task_id, m.event);
  }

  #settle(id: string, p: Promise<void>): void {
    p.catch((e) => log.error("following {id} failed: {error}", { id, error: String(e) }));
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
