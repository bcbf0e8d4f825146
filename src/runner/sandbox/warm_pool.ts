/**
 * @module
 * The sandboxes started ahead (`warm.ts`) one worker keeps: at most one per key, each ended when
 * nobody takes it in time, at most `max` at once.
 *
 * @example
 * ```ts
 * import { WarmPool } from "./warm_pool.ts";
 * const pool = new WarmPool({ max: 8, idleMs: 60_000 });
 * pool.take("key of a run's sandbox"); // null: nothing waits for it
 * await pool.close();
 * ```
 */
import type { WarmStart } from "./warm.ts";

/** Options of {@link WarmPool}. */
export interface WarmPoolOptions {
  /** Most sandboxes kept waiting at once (the one waiting longest goes first). */
  max: number;
  /** A sandbox nobody took within this is ended. */
  idleMs: number;
}

/**
 * The warm sandboxes of one worker, at most one per key, each ended when nobody takes it within
 * `idleMs`. Bounded: at most `max` wait at once.
 *
 * @example
 * ```ts
 * const pool = new WarmPool({ max: 4, idleMs: 60_000 });
 * pool.take("k"); // null: nothing waits for key "k"
 * await pool.close();
 * ```
 */
export class WarmPool {
  readonly #opts: WarmPoolOptions;
  readonly #waiting = new Map<string, { warm: WarmStart; timer: ReturnType<typeof setTimeout> }>();
  readonly #discarding = new Set<Promise<void>>();
  #closed = false;

  constructor(opts: WarmPoolOptions) {
    this.#opts = opts;
  }

  /** True once {@link close} was called: nothing is kept any more. */
  get closed(): boolean {
    return this.#closed;
  }

  /** How many wait now. */
  get size(): number {
    return this.#waiting.size;
  }

  /** Whether one waits for `key`. */
  has(key: string): boolean {
    return this.#waiting.has(key);
  }

  /** The sandbox waiting for `key` (now the caller's, to launch or discard), or null. */
  take(key: string): WarmStart | null {
    const held = this.#waiting.get(key);
    if (!held) return null;
    this.#forget(key);
    if (held.warm.waiting) return held.warm;
    this.#discard(held.warm);
    return null;
  }

  /** Keeps `warm` until taken or idle too long; one already waiting for its key stays instead. */
  add(warm: WarmStart): void {
    if (this.#closed || this.#waiting.has(warm.key)) return this.#discard(warm);
    if (this.#waiting.size >= this.#opts.max) {
      const [oldest] = this.#waiting.keys();
      const held = this.#waiting.get(oldest)!;
      this.#forget(oldest);
      this.#discard(held.warm);
    }
    const timer = setTimeout(() => {
      if (this.#waiting.get(warm.key)?.warm !== warm) return;
      this.#forget(warm.key);
      this.#discard(warm);
    }, this.#opts.idleMs);
    Deno.unrefTimer(Number(timer));
    this.#waiting.set(warm.key, { warm, timer });
    // One that ends by itself (killed from outside, a launcher that failed) is not kept.
    warm.ended.then(() => {
      if (this.#waiting.get(warm.key)?.warm !== warm) return;
      this.#forget(warm.key);
      this.#discard(warm);
    });
  }

  /** Ends every waiting sandbox; later ones are ended as they come. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const key of [...this.#waiting.keys()]) {
      const held = this.#waiting.get(key)!;
      this.#forget(key);
      this.#discard(held.warm);
    }
    await Promise.allSettled([...this.#discarding]);
  }

  #forget(key: string): void {
    const held = this.#waiting.get(key);
    if (held) clearTimeout(held.timer);
    this.#waiting.delete(key);
  }

  #discard(warm: WarmStart): void {
    const p = warm.discard().finally(() => this.#discarding.delete(p));
    this.#discarding.add(p);
  }
}
