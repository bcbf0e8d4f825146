/**
 * @module
 * A rate limit on front-door audit records, so a flood of refused requests cannot grow the
 * audit log without bound: per rule, at most `perWindow` records per window (default 20 per
 * minute); the rest are counted, and one "suppressed K" record per rule is written when the
 * window has passed (on the next refusal, or by {@link RateLimitedAudit.flush}, which the
 * worker calls every minute).
 *
 * @example
 * ```ts
 * import type { WorkerTasks } from "../ports.ts";
 * declare const tasks: WorkerTasks;
 * const audit = new RateLimitedAudit(tasks, { perWindow: 20, windowMs: 60_000 });
 * audit.auditDenied({ sourceIp: "100.64.0.9", rule: "front.host", reason: "..." });
 * ```
 */
import type { RuleId } from "../../protocol/rules.ts";
import type { WorkerTasks } from "../ports.ts";

type Sink = Pick<WorkerTasks, "auditDenied">;
type Denied = Parameters<WorkerTasks["auditDenied"]>[0];

/** Limits of {@link RateLimitedAudit}. */
export interface AuditLimitOptions {
  /** Records per rule per window. Default 20. */
  perWindow?: number;
  /** Window length. Default 60 000 ms. */
  windowMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

/** `auditDenied` with a per-rule budget and a summary of what was left out. */
export class RateLimitedAudit implements Sink {
  readonly #sink: Sink;
  readonly #perWindow: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #rules = new Map<
    RuleId,
    { start: number; written: number; suppressed: number; last: Denied | null }
  >();

  constructor(sink: Sink, opts: AuditLimitOptions = {}) {
    this.#sink = sink;
    this.#perWindow = opts.perWindow ?? 20;
    this.#windowMs = opts.windowMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Records the refusal, unless its rule used up this window's budget (then counts it). */
  auditDenied(info: Denied): void {
    this.flush();
    const now = this.#now();
    let w = this.#rules.get(info.rule);
    if (!w) {
      w = { start: now, written: 0, suppressed: 0, last: null };
      this.#rules.set(info.rule, w);
    }
    if (w.written < this.#perWindow) {
      w.written++;
      this.#sink.auditDenied(info);
    } else {
      w.suppressed++;
      w.last = info;
    }
  }

  /** Ends every window that has passed, writing one summary per rule that suppressed some. */
  flush(): void {
    const now = this.#now();
    for (const [rule, w] of this.#rules) {
      if (now - w.start < this.#windowMs) continue;
      if (w.suppressed > 0 && w.last) {
        this.#sink.auditDenied({
          sourceIp: w.last.sourceIp,
          rule,
          reason: `suppressed ${w.suppressed} more refusal(s) by ${rule} in ${
            Math.round(this.#windowMs / 1000)
          } s (audit rate limit ${this.#perWindow} per rule); the last: ${w.last.reason}`,
        });
      }
      this.#rules.delete(rule);
    }
  }
}
