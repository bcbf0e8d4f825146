/**
 * @module
 * The narrow interface the control HTTP surface depends on, as `worker/ports.ts` is for the
 * worker: the slice of the requester's delegation flow that the routes call. The daemon passes
 * its `Requester`; a test may pass a small fake.
 *
 * @example
 * ```ts
 * import type { OutboundTasks } from "./ports.ts";
 * const tasks: Pick<OutboundTasks, "record"> = { record: () => null };
 * ```
 */
import type { Requester } from "../delegation/requester.ts";

/** What the control routes call: delegate, list, read, wait for and cancel outbound tasks. */
export type OutboundTasks = Pick<
  Requester,
  "delegate" | "list" | "status" | "record" | "result" | "events" | "wait" | "cancel"
>;
