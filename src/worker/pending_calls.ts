/**
 * @module
 * The request/answer bookkeeping of a port between the worker thread and the main thread: ids,
 * a bound on calls in flight, and a timeout. Every way a call can fail ends in the caller's
 * `fallback` answer (which the ports make a denial), never in a throw or a call left waiting.
 *
 * @example
 * ```ts
 * import { PendingCalls } from "./pending_calls.ts";
 * const calls = new PendingCalls<string>({ timeoutMs: 5000, maxPending: 64 });
 * const answer = calls.call((id) => self.postMessage({ id, ask: "x" }), "no answer");
 * // when the other side replies: calls.deliver(reply.id, reply.value);
 * ```
 */

/** Limits of a {@link PendingCalls}. */
export interface PendingCallsOptions {
  /** How long to wait for an answer. */
  timeoutMs: number;
  /** Most calls in flight; more get their fallback at once. */
  maxPending: number;
}

/** Calls waiting for an answer from the other thread, by id. */
export class PendingCalls<T> {
  readonly #opts: PendingCallsOptions;
  readonly #pending = new Map<number, (answer: T) => void>();
  #next = 1;

  constructor(opts: PendingCallsOptions) {
    this.#opts = opts;
  }

  /**
   * Sends a call with `send(id)` and waits for {@link deliver} of that id. `busy` is the answer
   * when too many calls are in flight, `fallback` when `send` throws or the time runs out.
   */
  call(send: (id: number) => void, fallback: T, busy: T = fallback): Promise<T> {
    if (this.#pending.size >= this.#opts.maxPending) return Promise.resolve(busy);
    const id = this.#next++;
    return new Promise<T>((resolve) => {
      const timer = setTimeout(() => settle(fallback), this.#opts.timeoutMs);
      const settle = (answer: T) => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(answer);
      };
      this.#pending.set(id, settle);
      try {
        send(id);
      } catch {
        settle(fallback);
      }
    });
  }

  /** Hands `answer` to the call `id` waits for (an unknown or finished id is ignored). */
  deliver(id: number, answer: T): void {
    this.#pending.get(id)?.(answer);
  }

  /** Calls waiting for an answer. */
  get size(): number {
    return this.#pending.size;
  }
}
