/**
 * @module
 * Free TCP ports on 127.0.0.1, distinct from each other. Asking the kernel for port 0 and closing
 * the listener, one port at a time, can hand out the same port twice (it was free again when the
 * second was asked for), and a config with `control_port == worker_port` is refused. All the
 * listeners are held open until every port is known, so the ports of one call never repeat.
 *
 * @example
 * ```ts
 * import { freePorts } from "./free_ports.ts";
 * const [control, worker] = freePorts(2);
 * console.assert(control !== worker);
 * ```
 */

/** `n` distinct TCP ports that were free on 127.0.0.1 when asked (still free unless taken since). */
export function freePorts(n: number): number[] {
  const listeners: Deno.Listener[] = [];
  try {
    for (let i = 0; i < n; i++) listeners.push(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
    return listeners.map((l) => (l.addr as Deno.NetAddr).port);
  } finally {
    for (const l of listeners) l.close();
  }
}
