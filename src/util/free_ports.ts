/**
 * @module
 * Free TCP ports on 127.0.0.1, distinct from each other, drawn below the kernel's ephemeral range
 * (Linux `ip_local_port_range`, 32768 and up by default). A port the kernel hands out for
 * `port: 0` is free only when asked: any other listener on port 0, or an outgoing connection's
 * source port, may take it before the daemon binds it (CI saw a worker fail with AddrInUse that
 * way). The kernel never hands out a port below the range by itself, so a port found free there
 * stays free unless a program asks for that very number.
 *
 * @example
 * ```ts
 * import { freePorts } from "./free_ports.ts";
 * const [control, worker] = freePorts(2);
 * console.assert(control !== worker);
 * ```
 */

/**
 * The ports {@link freePorts} draws from: just below the ephemeral ranges of Linux (32768 and
 * up by default), macOS and Windows (49152 and up). The range itself is not read: Deno grants
 * `/proc` only with every permission.
 */
export const UNASSIGNED_PORTS: readonly [number, number] = [20_000, 32_767];

/** Whether `port` can be listened on at 127.0.0.1 right now. */
export function portIsFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * One port in {@link UNASSIGNED_PORTS} that was free on 127.0.0.1 when asked and for which
 * `accept` also holds.
 */
export function freePort(accept: (port: number) => boolean = () => true): number {
  const [low, high] = UNASSIGNED_PORTS;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (portIsFree(port) && accept(port)) return port;
  }
  throw new Error(`no free TCP port on 127.0.0.1 in ${low}-${high} after 1000 tries`);
}

/** `n` distinct TCP ports that were free on 127.0.0.1 when asked (still free unless taken since). */
export function freePorts(n: number): number[] {
  const ports: number[] = [];
  while (ports.length < n) ports.push(freePort((p) => !ports.includes(p)));
  return ports;
}
