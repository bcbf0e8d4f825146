/**
 * @module
 * The requester's HTTP client for a peer's worker API (`/v1` over the tailnet). It classifies
 * failures so the user hears "peer offline" or "cmesh not running there" rather than a socket
 * error, and labels the peer's own refusals as the peer's.
 */
import { type QuotedRule, quoteRule } from "../protocol/rules.ts";
import { ApiError, TaskEvent, TaskRequest, TaskResult, TaskStatus } from "../protocol/task.ts";
import { readBoundedBytes } from "../util/bounded_body.ts";
import { readSse, SseTooLarge } from "./sse.ts";

/** Where a peer's worker listens. */
export interface PeerAddress {
  name: string;
  host: string;
  port: number;
}

/** Why a call did not produce an answer from the peer's cmesh. */
export type PeerFailure =
  | {
    kind: "unreachable";
    message: string;
    /**
     * True when the request may have reached the peer before the failure (the connection
     * broke after it was made): the task may exist there, so it is followed, not
     * failed.
     */
    maybeDelivered?: boolean;
  }
  | { kind: "not_cmesh"; message: string }
  | { kind: "too_large"; message: string }
  | {
    kind: "refused";
    status: number;
    /** The peer's error code, as it gave it (a peer of another version may have others). */
    code: string;
    message: string;
    /** The peer's rule, quoted. */
    rule?: QuotedRule;
    retryAfterS?: number;
  };

/** The outcome of a peer call. */
export type PeerResult<T> = { ok: true; status: number; value: T } | {
  ok: false;
  failure: PeerFailure;
};

/** The most one answer of a peer may be: bodies are read up to it, then cut off. */
export const MAX_PEER_RESPONSE_BYTES = 8 * 1024 * 1024;
/** The most one event-stream message of a peer may be (characters, read as it arrives). */
export const MAX_PEER_EVENT_CHARS = 1024 * 1024;

function baseUrl(p: PeerAddress): string {
  const host = p.host.includes(":") ? `[${p.host}]` : p.host;
  return `http://${host}:${p.port}`;
}

function networkFailure(peer: PeerAddress, err: unknown): PeerFailure {
  // Deno's fetch says only "fetch failed"; the socket error is in `cause`.
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
  const msg = (err instanceof Error ? err.message : String(err)) + cause;
  if (/refused/i.test(msg)) {
    return {
      kind: "not_cmesh",
      message:
        `${peer.name} (${peer.host}:${peer.port}) refused the connection: it is online but cmesh is not listening there. ` +
        `On ${peer.name}, start it with 'cmesh daemon' (and check daemon.worker_port)`,
    };
  }
  // A connection that broke after it was made (the peer's daemon died mid-answer) may have
  // delivered the request. A timeout is not counted: a port that drops packets (a tailnet grant,
  // an asleep node) looks the same, and following such a task would wait for ever.
  // (hyper words the connect phase "tcp connect error" / "client error (Connect)"; a broken
  // connection is "connection reset by peer" / "connection closed before message completed".)
  const maybeDelivered =
    !/connect error|\(connect\)|trying to connect|no route|unreachable|dns|lookup|resolve/i
      .test(msg);
  if (/timed? ?out|abort/i.test(msg)) {
    return {
      kind: "unreachable",
      message:
        `${peer.name} (${peer.host}:${peer.port}) did not answer in time: it may be offline, asleep, or a tailnet grant blocks the port`,
    };
  }
  return {
    kind: "unreachable",
    maybeDelivered,
    message:
      `cannot reach ${peer.name} (${peer.host}:${peer.port}): ${msg}. Is it online on your tailnet?`,
  };
}

function tooLarge(peer: PeerAddress, what: string, limit: number): PeerFailure {
  return {
    kind: "too_large",
    message: `${peer.name} sent ${what} larger than ${limit} bytes; cmesh stopped reading it ` +
      `(a cmesh worker never sends that much: is it misbehaving?)`,
  };
}

/** A client for one peer. */
export class PeerClient {
  constructor(readonly peer: PeerAddress, private readonly timeoutMs = 10_000) {}

  async #call<T>(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    pick: (json: unknown) => T,
    signal?: AbortSignal,
  ): Promise<PeerResult<T>> {
    let res: Response;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      res = await fetch(baseUrl(this.peer) + path, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      return { ok: false, failure: networkFailure(this.peer, err) };
    }
    let json: unknown;
    try {
      const bytes = await readBoundedBytes(res.body, MAX_PEER_RESPONSE_BYTES);
      if (bytes === null) {
        return {
          ok: false,
          failure: tooLarge(this.peer, "an answer", MAX_PEER_RESPONSE_BYTES),
        };
      }
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return {
        ok: false,
        failure: {
          kind: "not_cmesh",
          message:
            `${this.peer.name} answered HTTP ${res.status} with something that is not cmesh JSON: is another program on port ${this.peer.port}?`,
        },
      };
    }
    if (res.ok) {
      try {
        return { ok: true, status: res.status, value: pick(json) };
      } catch (e) {
        return {
          ok: false,
          failure: {
            kind: "not_cmesh",
            message: `${this.peer.name} sent an unexpected answer: ${(e as Error).message}`,
          },
        };
      }
    }
    const err = ApiError.safeParse(json);
    if (!err.success) {
      return {
        ok: false,
        failure: {
          kind: "not_cmesh",
          message: `${this.peer.name} answered HTTP ${res.status} without a cmesh error body`,
        },
      };
    }
    const retry = Number(res.headers.get("retry-after") ?? "");
    return {
      ok: false,
      failure: {
        kind: "refused",
        status: res.status,
        code: err.data.error.code,
        message: err.data.error.message,
        rule: err.data.error.rule === undefined ? undefined : quoteRule(err.data.error.rule),
        retryAfterS: Number.isFinite(retry) && retry > 0 ? retry : undefined,
      },
    };
  }

  /** `GET /v1/hello`: what this peer allows me. */
  hello(signal?: AbortSignal): Promise<PeerResult<Record<string, unknown>>> {
    return this.#call("GET", "/v1/hello", undefined, (j) => j as Record<string, unknown>, signal);
  }

  /** `POST /v1/tasks` (idempotent on `req.id`). */
  submit(req: TaskRequest, signal?: AbortSignal): Promise<PeerResult<TaskStatus>> {
    return this.#call(
      "POST",
      "/v1/tasks",
      req,
      (j) => TaskStatus.parse((j as { task: unknown }).task),
      signal,
    );
  }

  /** `GET /v1/tasks/:id`. */
  status(id: string, signal?: AbortSignal): Promise<PeerResult<TaskStatus>> {
    return this.#call(
      "GET",
      `/v1/tasks/${id}`,
      undefined,
      (j) => TaskStatus.parse((j as { task: unknown }).task),
      signal,
    );
  }

  /** `GET /v1/tasks/:id/result`. */
  result(id: string, signal?: AbortSignal): Promise<PeerResult<TaskResult>> {
    return this.#call(
      "GET",
      `/v1/tasks/${id}/result`,
      undefined,
      (j) => TaskResult.parse((j as { result: unknown }).result),
      signal,
    );
  }

  /** `POST /v1/tasks/:id/cancel`. */
  cancel(id: string, signal?: AbortSignal): Promise<PeerResult<TaskStatus>> {
    return this.#call(
      "POST",
      `/v1/tasks/${id}/cancel`,
      {},
      (j) => TaskStatus.parse((j as { task: unknown }).task),
      signal,
    );
  }

  /**
   * Opens `POST /v1/events` (SSE of every task of mine there) from `after` (task id → last
   * seq I have). The caller reads the body; see `peer_stream.ts`.
   */
  async openEvents(
    after: Record<string, number>,
    signal: AbortSignal,
  ): Promise<
    { ok: true; body: ReadableStream<Uint8Array> } | { ok: false; status?: number; message: string }
  > {
    let res: Response;
    try {
      res = await fetch(`${baseUrl(this.peer)}/v1/events`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ after }),
        signal,
      });
    } catch (err) {
      return { ok: false, message: networkFailure(this.peer, err).message };
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      return { ok: false, status: res.status, message: `events: HTTP ${res.status}` };
    }
    return { ok: true, body: res.body };
  }

  /**
   * Follows `GET /v1/tasks/:id/events` (SSE) from `after`, calling `onEvent` per event. Resolves
   * when the stream ends (task terminal) or fails; the caller falls back to polling.
   */
  async followEvents(
    id: string,
    after: number,
    onEvent: (ev: TaskEvent) => void,
    signal: AbortSignal,
  ): Promise<{ ended: boolean; error?: string; failure?: PeerFailure }> {
    let res: Response;
    try {
      res = await fetch(`${baseUrl(this.peer)}/v1/tasks/${id}/events?after=${after}`, {
        headers: { accept: "text/event-stream" },
        signal,
      });
    } catch (err) {
      return { ended: false, error: networkFailure(this.peer, err).message };
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      return { ended: false, error: `events: HTTP ${res.status}` };
    }
    try {
      for await (const msg of readSse(res.body, MAX_PEER_EVENT_CHARS, signal)) {
        if (msg.event === "end") return { ended: true };
        const ev = TaskEvent.safeParse(JSON.parse(msg.data));
        if (ev.success) onEvent(ev.data);
      }
      return { ended: false, error: "event stream closed before the task ended" };
    } catch (err) {
      if (err instanceof SseTooLarge) {
        const failure = tooLarge(this.peer, "an event-stream message", MAX_PEER_EVENT_CHARS);
        return { ended: false, error: failure.message, failure };
      }
      return { ended: false, error: (err as Error).message };
    }
  }
}
