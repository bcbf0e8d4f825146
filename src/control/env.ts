/**
 * @module
 * The Hono environment of the control app.
 */

/** Bindings of the control app: the connection info `Deno.serve` passes in. */
export type ControlEnv = { Bindings: { remoteAddr: Deno.Addr } };
