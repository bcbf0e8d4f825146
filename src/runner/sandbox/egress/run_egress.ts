/**
 * @module
 * `model` egress for one run, end to end: takes a socket slot, starts the daemon-side proxy on
 * it, and hands back what the sandbox and the runner's environment need (the network, the
 * binds and wrapper of the in-sandbox forwarders, the proxy variables). `finish()` stops the
 * proxy, frees the slot and returns what the run did through it, for the events and the audit.
 *
 * The slots and the set-up computed in the main thread are in `slots.ts`.
 *
 * @example
 * ```ts
 * import type { EgressPolicy } from "./policy.ts";
 * import { prepareRunEgress } from "./run_egress.ts";
 * import { EgressSlots } from "./slots.ts";
 * declare const policy: EgressPolicy; // from the manifest and the profile
 * const slots = new EgressSlots("/var/lib/cmesh/egress", 4, 1);
 * const eg = await prepareRunEgress(policy, { slots, socat: "/usr/bin/socat" });
 * if (eg.ok) {
 *   // sandbox: network eg.network, extension eg.extension; env: { ...env, ...eg.env }
 *   const summary = await eg.finish();
 * }
 * ```
 */
import { type Destination, formatDestination } from "../../../util/destination.ts";
import { EgressSetupError, type ForwarderBind, forwarderPlan, tunnelCount } from "./forwarder.ts";
import type { ResolvedRunner } from "../../runtime.ts";
import type { RunnerEvent } from "../../types.ts";
import { capEgress, describeEgress, type EgressPolicy, resolvedRunnerEgress } from "./policy.ts";
import { type EgressInit, EgressSlots } from "./slots.ts";
import {
  type EgressLimits,
  type EgressRecord,
  type EgressSummary,
  startEgressProxy,
} from "./proxy.ts";

/** The network a sandbox gets (the shape of the sandbox spec's `network`). */
export type EgressNetwork =
  | { kind: "none" }
  | { kind: "host" }
  | { kind: "model"; hosts: string[] };

/** What a run's sandbox adds for egress (the shape of the sandbox spec's `extension`). */
export interface EgressExtension {
  binds: ForwarderBind[];
  bwrapArgs: string[];
  wrapper: string[];
}

/** A prepared run's egress. */
export interface RunEgress {
  ok: true;
  network: EgressNetwork;
  extension: EgressExtension;
  /** Variables the runner gets on top of its own (proxy settings). */
  env: Record<string, string>;
  /** Stops the proxy and frees the slot; resolves to what passed (null without a proxy). */
  finish(): Promise<EgressSummary | null>;
}

/** Inputs of {@link prepareRunEgress}. */
export interface RunEgressDeps {
  slots: EgressSlots | null;
  /** Absolute path of `socat`, null when it is not installed. */
  socat: string | null;
  limits?: Partial<EgressLimits>;
  onRecord?(record: EgressRecord): void;
  /** Connects to a destination (tests); default `Deno.connect`. */
  connect?(d: Destination, signal: AbortSignal): Promise<Deno.Conn>;
}

const NO_EXTENSION: EgressExtension = { binds: [], bwrapArgs: [], wrapper: [] };

/**
 * Prepares one run's egress under `policy`. `none` and `host` need nothing but the network
 * kind; `model` needs socat and a free slot, else the run is refused (`ok: false`, with the
 * fix): never silently widened to `host`.
 */
export async function prepareRunEgress(
  policy: EgressPolicy,
  deps: RunEgressDeps,
): Promise<RunEgress | { ok: false; code: "egress_unavailable"; reason: string }> {
  if (policy.mode !== "model") {
    return {
      ok: true,
      network: { kind: policy.mode },
      extension: NO_EXTENSION,
      env: {},
      finish: () => Promise.resolve(null),
    };
  }
  if (deps.socat === null) {
    return {
      ok: false,
      code: "egress_unavailable",
      reason:
        'egress "model" needs socat inside the sandbox, and it is not installed: install it (Debian/Ubuntu: apt-get install socat), or set the runner\'s egress to "none" or "host"',
    };
  }
  const destinations = policy.destinations.map((d) => d.destination);
  if (
    deps.slots === null || deps.slots.count === 0 ||
    tunnelCount(destinations) > deps.slots.tunnels
  ) {
    return {
      ok: false,
      code: "egress_unavailable",
      reason:
        'egress "model" is not set up in this worker for these destinations (they were not known when the daemon started); restart the daemon',
    };
  }
  const slot = deps.slots.acquire();
  if (slot === null) {
    return {
      ok: false,
      code: "egress_unavailable",
      reason: `egress: all ${deps.slots.count} proxy slots are in use; retry when a run ends`,
    };
  }
  const socketDir = deps.slots.dir(slot);
  try {
    const plan = forwarderPlan({ destinations, socketDir, socat: deps.socat });
    const proxy = await startEgressProxy({
      socketDir,
      listeners: plan.listeners,
      allowed: destinations,
      limits: deps.limits,
      onRecord: deps.onRecord,
      connect: deps.connect,
    });
    let finished: Promise<EgressSummary> | null = null;
    return {
      ok: true,
      network: { kind: "model", hosts: destinations.map(formatDestination) },
      extension: { binds: plan.binds, bwrapArgs: [], wrapper: plan.wrapper },
      env: plan.env,
      finish: () =>
        finished ??= proxy.close().then(() => {
          deps.slots!.release(slot);
          return proxy.summary();
        }),
    };
  } catch (e) {
    deps.slots.release(slot);
    const reason = e instanceof EgressSetupError
      ? e.message
      : `egress: cannot start the run's proxy: ${(e as Error).message}`;
    return { ok: false, code: "egress_unavailable", reason };
  }
}

/** One line summing up a run's egress for its events, e.g. `egress: 3 connections to ...`. */
export function describeEgressSummary(s: EgressSummary): string {
  const allowed = Object.entries(s.allowed).map(([d, n]) => `${d} ×${n}`);
  const refused = Object.entries(s.refused).map(([d, n]) => `${d} ×${n}`);
  return `egress: allowed ${allowed.length ? allowed.join(", ") : "nothing"}; refused ${
    refused.length ? refused.join(", ") : "nothing"
  }; ${s.bytes} bytes${s.byteLimitHit ? " (byte limit reached)" : ""}`;
}

/** A task's egress, as the executor uses it. */
export type TaskEgress =
  | (RunEgress & { policy: EgressPolicy; describe: string })
  | { ok: false; code: "egress_unavailable"; reason: string };

/** The worker's egress: the slots, and per task the policy and its proxy. */
export class EgressRuntime {
  readonly #slots: EgressSlots;

  /** A runtime without slots or socat: `none`/`host` runs work, `model` runs are refused. */
  static unconfigured(): EgressRuntime {
    return new EgressRuntime({
      root: "/nonexistent",
      slots: 0,
      tunnels: 0,
      socat: null,
      daemonPorts: [],
      profileCaps: {},
    });
  }

  /**
   * @param init from `egressInit` (`slots.ts`)
   * @param connect how the proxies connect to a destination (tests); default `Deno.connect`
   */
  constructor(
    readonly init: EgressInit,
    readonly connect?: (d: Destination, signal: AbortSignal) => Promise<Deno.Conn>,
  ) {
    this.#slots = new EgressSlots(init.root, init.slots, init.tunnels);
  }

  /**
   * Prepares one task's egress: the runner's decision narrowed by the profile's cap. With the
   * sandbox off nothing can be enforced: the run gets the host network, and says so.
   */
  async forTask(
    runner: ResolvedRunner,
    profile: string,
    env: Readonly<Record<string, string>>,
    opts: { sandboxed: boolean; onRecord?(r: EgressRecord): void },
  ): Promise<TaskEgress> {
    const policy = capEgress(
      resolvedRunnerEgress(runner, env, this.init.daemonPorts),
      profile,
      this.init.profileCaps[profile],
    );
    if (!opts.sandboxed) {
      const off: EgressPolicy = { ...policy, mode: "host", modeFrom: "[sandbox] mode = off" };
      const r = await prepareRunEgress(off, { slots: null, socat: null });
      return { ...(r as RunEgress), policy: off, describe: "host (not enforced: sandbox off)" };
    }
    const r = await prepareRunEgress(policy, {
      slots: this.#slots,
      socat: this.init.socat,
      onRecord: opts.onRecord,
      connect: this.connect,
    });
    if (!r.ok) return r;
    return { ...r, policy, describe: describeEgress(policy) };
  }
}

/** A task event for one proxy decision, e.g. `egress refused example.com:443 (proxy): ...`. */
export function egressRecordEvent(r: EgressRecord): RunnerEvent {
  return {
    kind: "log",
    text: `egress ${r.verdict} ${r.destination} (${r.via})${r.reason ? `: ${r.reason}` : ""}`,
    data: { egress: { ...r } },
  };
}

/** The task event that sums up a run's egress when it ends. */
export function egressSummaryEvent(s: EgressSummary): RunnerEvent {
  return { kind: "log", text: describeEgressSummary(s), data: { egress_summary: { ...s } } };
}
