/**
 * @module
 * Event-stream slots of the worker: a global bound and each caller's share of it, so one peer
 * (or a stolen identity) cannot hold every stream and starve the others.
 *
 * @example
 * ```ts
 * import { StreamSlots } from "./stream_slots.ts";
 * const slots = new StreamSlots(256, 32);
 * const refused = slots.take("nLAPTOP"); // null: a slot is taken, give it back when done
 * if (!refused) slots.give("nLAPTOP");
 * ```
 */
import type { RuleId } from "../protocol/rules.ts";

/** Why a stream was refused, and which limit said so. */
export interface StreamRefusal {
  message: string;
  rule: RuleId;
}

/** Counts open streams, globally and per caller (by StableID). */
export class StreamSlots {
  #total = 0;
  #byCaller = new Map<string, number>();

  constructor(readonly max: number, readonly perCaller: number) {}

  /** Takes a slot for `caller`, or returns why not (nothing taken then). */
  take(caller: string): StreamRefusal | null {
    const mine = this.#byCaller.get(caller) ?? 0;
    if (mine >= this.perCaller) {
      return refusal(
        `you already have ${mine} event streams open here, your share of this node's ` +
          `${this.max}; close one, or follow all your tasks over GET /v1/events`,
        "limits.streams_per_caller",
      );
    }
    if (this.#total >= this.max) {
      return refusal(
        `too many event streams open on this node (${this.max}); poll the status instead`,
        "limits.streams",
      );
    }
    this.#total++;
    this.#byCaller.set(caller, mine + 1);
    return null;
  }

  /** Gives back a slot taken by {@link take}. */
  give(caller: string): void {
    this.#total = Math.max(0, this.#total - 1);
    const n = (this.#byCaller.get(caller) ?? 1) - 1;
    if (n > 0) this.#byCaller.set(caller, n);
    else this.#byCaller.delete(caller);
  }
}

function refusal(message: string, rule: RuleId): StreamRefusal {
  return { message, rule };
}
