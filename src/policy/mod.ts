/**
 * @module
 * The policy layer: pure decisions with reasons. Nothing here does I/O; paths arrive already
 * canonicalised (`worker/cwd_resolve.ts`) and identities already looked up (whois).
 *
 * @example
 * ```ts
 * import { matchPathGlob } from "./mod.ts";
 * matchPathGlob("/srv/**", "/srv/app"); // true
 * ```
 */
export * from "./decision.ts";
export * from "./types.ts";
export * from "./path.ts";
export * from "./glob.ts";
export * from "./caller.ts";
export * from "./grants.ts";
export * from "./allowed.ts";
export {
  type InboundDecision,
  inboundDecision,
  type InboundInput,
  type InboundMatch,
  type InboundRequest,
} from "./inbound.ts";
export * from "./limits.ts";
export * from "./outbound.ts";
