/**
 * @module
 * MCP progress notifications for long waits, spaced so the SDK does not drop them.
 *
 * SDK v1 handles notifications on a microtask but responses synchronously, and the response
 * removes the progress handler first: a notification that arrives in the same read as the
 * result (or right behind another) is lost (typescript-sdk#2580; research/deno.md §5). So
 * notifications go out at least {@link MIN_GAP_MS} apart, and after the last one the tool
 * waits {@link SETTLE_MS} before returning its result.
 *
 * @example
 * ```ts
 * import { ProgressReporter } from "./progress.ts";
 * const p = new ProgressReporter({ progressToken: "t1", send: async (n) => console.error(n) });
 * await p.report("running · 12s · last: tool Read README.md");
 * await p.settle();
 * ```
 */
import type { ServerNotification } from "../deps/mcp.ts";

/** Smallest gap between two notifications (the SDK race needs ≥ 20 ms). */
export const MIN_GAP_MS = 25;
/** Pause after the last notification before the result goes out. */
export const SETTLE_MS = 60;

/** Where notifications go, and the token the client asked for them with. */
export interface ProgressTarget {
  /** The request's `_meta.progressToken`; without one, nothing is sent. */
  progressToken?: string | number;
  /** Sends a notification tied to the current request. */
  send(notification: ServerNotification): Promise<void>;
}

/** Sends numbered, spaced progress notifications for one tool call. */
export class ProgressReporter {
  #count = 0;
  #lastAt = Number.NEGATIVE_INFINITY;

  /**
   * @param target the request's progress token and notification sender
   * @param sleep injectable for tests
   */
  constructor(
    private readonly target: ProgressTarget,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** True when the client asked for progress. */
  get enabled(): boolean {
    return this.target.progressToken !== undefined;
  }

  /** How many notifications were sent. */
  get sent(): number {
    return this.#count;
  }

  /** Sends one notification (waiting first if the previous one was under the gap ago). */
  async report(message: string): Promise<void> {
    if (this.target.progressToken === undefined) return;
    const wait = this.#lastAt + MIN_GAP_MS - performance.now();
    if (wait > 0) await this.sleep(wait);
    this.#count++;
    try {
      await this.target.send({
        method: "notifications/progress",
        params: { progressToken: this.target.progressToken, progress: this.#count, message },
      });
    } catch (e) {
      // The client went away; the tool result will not arrive either. Nothing to do.
      console.error(`cmesh mcp: progress notification failed: ${(e as Error).message}`);
    }
    this.#lastAt = performance.now();
  }

  /** Waits long enough after the last notification for the client to handle it. */
  async settle(): Promise<void> {
    if (this.#count === 0) return;
    const wait = this.#lastAt + SETTLE_MS - performance.now();
    if (wait > 0) await this.sleep(wait);
  }
}
