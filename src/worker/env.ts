/**
 * @module
 * The Hono environment of the worker app: the connection info Deno passes in, and what the
 * guards establish (source address, caller identity).
 */
import type { CallerIdentity } from "../policy/types.ts";

/** Variables and bindings of the worker app. */
export type WorkerEnv = {
  /** `Deno.serve` passes its `ServeHandlerInfo` as the Hono env; only `remoteAddr` is used. */
  Bindings: { remoteAddr: Deno.Addr };
  Variables: { sourceIp: string; sourcePort: number; caller: CallerIdentity };
};
