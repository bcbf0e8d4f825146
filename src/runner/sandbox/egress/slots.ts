/**
 * @module
 * The egress set-up the daemon's main thread computes for the worker (plain data, and the `net`
 * permissions it implies), and the socket slots both sides name. Apart from the proxy
 * (`run_egress.ts`, `proxy.ts`), so the main thread does not load it.
 *
 * Socket paths are fixed per slot (`<state>/egress/s<N>/p.sock`, `t<K>.sock`) because a
 * permission-narrowed Deno Worker may only listen on unix socket paths it was granted by name:
 * {@link EgressSlots.socketPaths} lists them for `daemon/worker_permissions.ts`.
 *
 * @example
 * ```ts
 * import { EgressSlots } from "./slots.ts";
 * new EgressSlots("/var/lib/cmesh/egress", 2, 1).socketPaths();
 * // ["/var/lib/cmesh/egress/s0/p.sock", "/var/lib/cmesh/egress/s0/t0.sock", ...]
 * ```
 */
import type { EgressMode } from "../../../config/schema.ts";
import { formatDestination } from "../../../util/destination.ts";
import type { ResolvedRunner } from "../../runtime.ts";
import { tunnelCount } from "./forwarder.ts";
import { resolvedRunnerEgress } from "./policy.ts";

/** A fixed pool of socket directories, one per concurrently running `model` run. */
export class EgressSlots {
  readonly #free: number[];

  /**
   * @param root the directory holding the slots (under the state dir)
   * @param count how many runs may use egress at once
   * @param tunnels the most direct tunnels one run may need (`tunnelCount`)
   */
  constructor(readonly root: string, readonly count: number, readonly tunnels: number) {
    this.#free = Array.from({ length: count }, (_, i) => i);
  }

  /** The socket directory of slot `i`. */
  dir(i: number): string {
    return `${this.root}/s${i}`;
  }

  /** Every socket path any slot may listen on (the worker's `net` grants them by name). */
  socketPaths(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.count; i++) {
      out.push(`${this.dir(i)}/p.sock`);
      for (let t = 0; t < this.tunnels; t++) out.push(`${this.dir(i)}/t${t}.sock`);
    }
    return out;
  }

  /** A free slot, or null when all are taken. */
  acquire(): number | null {
    return this.#free.shift() ?? null;
  }

  /** Gives a slot back. */
  release(i: number): void {
    if (!this.#free.includes(i)) this.#free.push(i);
  }
}

/** What the worker needs for egress: plain data, computed in the daemon's main thread. */
export interface EgressInit {
  /** Directory holding the socket slots (`<state>/egress`). */
  root: string;
  slots: number;
  tunnels: number;
  /** Absolute path of `socat`, null when it is not installed. */
  socat: string | null;
  /** The daemon's own ports, never allowed on loopback. */
  daemonPorts: number[];
  /** `profiles.<p>.egress` caps. */
  profileCaps: Record<string, EgressMode>;
}

/** Inputs of {@link egressInit}. */
export interface EgressInitInput {
  stateDir: string;
  /** Runs at once (`inbound.max_concurrent`). */
  maxConcurrent: number;
  runners: readonly ResolvedRunner[];
  env: Readonly<Record<string, string>>;
  daemonPorts: number[];
  profileCaps: Record<string, EgressMode | undefined>;
  socat: string | null;
}

/**
 * The worker's egress set-up, and the `net` permissions it needs: every destination a `model`
 * runner may reach (`host:port`) and every slot socket (`unix:<path>`), nothing else.
 */
export function egressInit(i: EgressInitInput): { init: EgressInit; net: string[] } {
  const net = new Set<string>();
  let tunnels = 0;
  for (const r of i.runners) {
    const policy = resolvedRunnerEgress(r, i.env, i.daemonPorts);
    if (policy.mode !== "model") continue;
    const dests = policy.destinations.map((d) => d.destination);
    for (const d of dests) net.add(formatDestination(d));
    tunnels = Math.max(tunnels, tunnelCount(dests));
  }
  const profileCaps: Record<string, EgressMode> = {};
  for (const [p, cap] of Object.entries(i.profileCaps)) if (cap) profileCaps[p] = cap;
  // Twice the concurrency: a slot is freed only after its run's proxy has closed.
  const init: EgressInit = {
    root: `${i.stateDir}/egress`,
    slots: Math.max(1, i.maxConcurrent * 2),
    tunnels,
    socat: i.socat,
    daemonPorts: i.daemonPorts,
    profileCaps,
  };
  const slots = new EgressSlots(init.root, init.slots, init.tunnels);
  for (const p of slots.socketPaths()) net.add(`unix:${p}`);
  return { init, net: [...net] };
}
