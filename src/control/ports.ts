/**
 * @module
 * The narrow interfaces the control HTTP surface depends on, as `worker/ports.ts` is for the
 * worker: the slice of the requester's delegation flow that the task routes call, and this
 * node's status and outbound peers. The daemon passes its `Requester` and its
 * `daemon/status.ts` view; a test may pass small fakes.
 *
 * @example
 * ```ts
 * import type { NodeView, OutboundTasks } from "./ports.ts";
 * const tasks: Pick<OutboundTasks, "record"> = { record: () => null };
 * const view: Pick<NodeView, "peers"> = { peers: () => Promise.resolve([]) };
 * ```
 */
import type { Requester } from "../delegation/requester.ts";
import type { ControlPeer, StatusAnswer } from "../protocol/control.ts";

/** What the task routes call: delegate, list, read, wait for and cancel outbound tasks. */
export type OutboundTasks = Pick<
  Requester,
  "delegate" | "list" | "status" | "record" | "result" | "events" | "wait" | "cancel"
>;

/** What `GET /v1/status` and `GET /v1/peers` answer: this node and its outbound peers. */
export interface NodeView {
  /** The daemon, its tailnet, its worker and runners. */
  status(): Promise<StatusAnswer>;
  /** Each configured outbound peer: its pin, online state and what it allows this node. */
  peers(): Promise<ControlPeer[]>;
}
