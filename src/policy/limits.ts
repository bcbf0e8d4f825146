/**
 * @module
 * Load limits, in two questions:
 * - {@link admissionLimits}: may a new task enter at all? It is admitted when it can start at
 *   once, or when queue space remains (globally `inbound.max_queue`, and for the caller the
 *   matched rule's `max_queue`); otherwise it is rejected with a `retryAfterS` hint.
 * - {@link canStart}: may a queued task start now? Decided by `max_concurrent` (global, and the
 *   matched rule's per-peer value). The scheduler asks this; admission never starts anything.
 *
 * "Peer" counts are the caller's own tasks (count them by `CallerIdentity.stableId`). A peer
 * limit that is absent means only the global limit applies. A task starts "at once" only when
 * both levels have a free slot and nothing is queued ahead of it (first come, first served).
 *
 * @example
 * ```ts
 * import { admissionLimits } from "./limits.ts";
 * admissionLimits({
 *   global: { running: 2, queued: 32 }, peer: { running: 0, queued: 0 },
 *   limits: { global: { maxConcurrent: 2, maxQueue: 32 }, peer: {} },
 * }).rule; // "limits.global_queue"
 * ```
 */
import type { Config } from "../config/schema.ts";
import { type Allow, type Deny, deny } from "./decision.ts";
import type { PeerLimits } from "./types.ts";

/** Task counts at one level (this node, or one caller on this node). */
export interface LoadCounts {
  running: number;
  queued: number;
}

/** The limits that apply to one caller's task: global ones and those of its matched rule. */
export interface EffectiveLimits {
  global: { maxConcurrent: number; maxQueue: number };
  peer: PeerLimits;
}

/** Seconds suggested before retrying when a queue is full, unless the caller passes its own. */
export const DEFAULT_RETRY_AFTER_S = 30;

/**
 * Combines `[inbound]` limits with the matched rule's per-peer limits.
 *
 * @example
 * ```ts
 * import { limitsFor } from "./limits.ts";
 * limitsFor({ max_concurrent: 2, max_queue: 32 }, { maxConcurrent: 1 });
 * // { global: { maxConcurrent: 2, maxQueue: 32 }, peer: { maxConcurrent: 1 } }
 * ```
 */
export function limitsFor(
  inbound: Pick<Config["inbound"], "max_concurrent" | "max_queue">,
  peer: PeerLimits,
): EffectiveLimits {
  return {
    global: { maxConcurrent: inbound.max_concurrent, maxQueue: inbound.max_queue },
    peer: { ...peer },
  };
}

/** An admission: `startsNow` says whether a slot is free, else the task waits in the queue. */
export type AdmissionAllow = Allow & { startsNow: boolean };

/**
 * Admit (start now or queue) or reject a new task for load reasons.
 *
 * @example
 * ```ts
 * import { admissionLimits } from "./limits.ts";
 * const d = admissionLimits({
 *   global: { running: 0, queued: 0 }, peer: { running: 0, queued: 0 },
 *   limits: { global: { maxConcurrent: 2, maxQueue: 0 }, peer: {} },
 * });
 * d.allow && d.startsNow; // true: max_queue = 0 still runs tasks when a slot is free
 * ```
 */
export function admissionLimits(input: {
  global: LoadCounts;
  peer: LoadCounts;
  limits: EffectiveLimits;
  /**
   * Overrides {@link DEFAULT_RETRY_AFTER_S} in denials; a function is called only when the
   * answer is a denial (so admissions pay nothing for it).
   */
  retryAfterS?: number | (() => number);
}): AdmissionAllow | Deny {
  const { global, peer, limits } = input;
  const peerMaxConcurrent = limits.peer.maxConcurrent ?? Infinity;
  const peerMaxQueue = limits.peer.maxQueue ?? Infinity;
  const startsNow = global.running < limits.global.maxConcurrent && global.queued === 0 &&
    peer.running < peerMaxConcurrent && peer.queued === 0;
  if (startsNow) {
    return {
      allow: true,
      rule: "limits.admit",
      reason: `a slot is free (${global.running} of ${limits.global.maxConcurrent} running)`,
      startsNow: true,
    };
  }
  // Only a refusal needs the advice: a task that merely queues must not pay for it.
  const retryAfter = () =>
    typeof input.retryAfterS === "function"
      ? input.retryAfterS()
      : input.retryAfterS ?? DEFAULT_RETRY_AFTER_S;
  if (global.queued >= limits.global.maxQueue) {
    const retryAfterS = retryAfter();
    return withRetry(
      deny(
        "limits.global_queue",
        `this node is busy: ${global.running} tasks running and ${global.queued} queued, the ` +
          `most inbound.max_queue = ${limits.global.maxQueue} allows`,
        `retry in about ${retryAfterS}s`,
      ),
      retryAfterS,
    );
  }
  if (peer.queued >= peerMaxQueue) {
    const retryAfterS = retryAfter();
    return withRetry(
      deny(
        "limits.peer_queue",
        `you already have ${peer.running} tasks running and ${peer.queued} queued on this ` +
          `node, the most your rule's max_queue = ${peerMaxQueue} allows`,
        `wait for one of your tasks to finish; retry in about ${retryAfterS}s`,
      ),
      retryAfterS,
    );
  }
  return {
    allow: true,
    rule: "limits.admit",
    reason: `queued behind ${global.queued} task(s) (${global.running} of ` +
      `${limits.global.maxConcurrent} running)`,
    startsNow: false,
  };
}

function withRetry(d: Deny, retryAfterS: number): Deny {
  d.retryAfterS = retryAfterS;
  return d;
}

/**
 * May a queued task start now? Only running counts matter; queue order is the scheduler's.
 *
 * @example
 * ```ts
 * import { canStart } from "./limits.ts";
 * canStart({ global: { running: 1 }, peer: { running: 1 },
 *   limits: { global: { maxConcurrent: 4, maxQueue: 8 }, peer: { maxConcurrent: 1 } } }).rule;
 * // "limits.peer_concurrency"
 * ```
 */
export function canStart(input: {
  global: Pick<LoadCounts, "running">;
  peer: Pick<LoadCounts, "running">;
  limits: EffectiveLimits;
}): Allow | Deny {
  const { global, peer, limits } = input;
  if (global.running >= limits.global.maxConcurrent) {
    return deny(
      "limits.global_concurrency",
      `${global.running} tasks are running, the most inbound.max_concurrent = ` +
        `${limits.global.maxConcurrent} allows`,
    );
  }
  const peerMax = limits.peer.maxConcurrent;
  if (peerMax !== undefined && peer.running >= peerMax) {
    return deny(
      "limits.peer_concurrency",
      `this peer has ${peer.running} tasks running, the most its rule's max_concurrent = ` +
        `${peerMax} allows`,
    );
  }
  return {
    allow: true,
    rule: "limits.start",
    reason: `a slot is free (${global.running} of ${limits.global.maxConcurrent} running)`,
  };
}

/**
 * A `Retry-After` worth waiting: the time for the queue ahead to drain at the recent run time,
 * clamped to 1..300 s; {@link DEFAULT_RETRY_AFTER_S} when there is no recent run to go by.
 *
 * @example
 * ```ts
 * import { suggestRetryAfterS } from "./limits.ts";
 * suggestRetryAfterS({ recentRunS: 2, queued: 8, maxConcurrent: 4 }); // 5
 * ```
 */
export function suggestRetryAfterS(input: {
  recentRunS: number | null;
  queued: number;
  maxConcurrent: number;
}): number {
  if (input.recentRunS === null || !(input.recentRunS >= 0)) return DEFAULT_RETRY_AFTER_S;
  const waves = (input.queued + 1) / Math.max(1, input.maxConcurrent);
  return Math.min(300, Math.max(1, Math.ceil(input.recentRunS * waves)));
}
