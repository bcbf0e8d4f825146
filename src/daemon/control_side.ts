/**
 * @module
 * The daemon's requester side, built when it is first needed: the outbound flow (the requester
 * and the peers it resolves, `delegation/from_config.ts`) and the loopback control API over it
 * (`control/app.ts`, with this node's status). `main.ts` imports this module at the first
 * control request, or at start when an outbound task is still being followed, so an idle daemon
 * does not hold hono, the control schemas and the delegation code.
 *
 * @example
 * ```ts
 * import { buildControlSide, type ControlSideDeps } from "./control_side.ts";
 * declare const deps: ControlSideDeps;
 * const side = buildControlSide(deps);
 * const remote: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 50000 };
 * await side.fetch(new Request("http://127.0.0.1:7434/v1/proof"), remote);
 * side.requester.close();
 * ```
 */
import type { Config } from "../config/schema.ts";
import { createControlApp } from "../control/app.ts";
import { controlTokenPath } from "../control/token.ts";
import { outboundFromConfig } from "../delegation/from_config.ts";
import type { PeerDirectory } from "../delegation/peer_directory.ts";
import type { PeerTarget, StatusSource, WhoisSource } from "../delegation/peer_resolve.ts";
import type { Requester } from "../delegation/requester.ts";
import type { RunnerRuntime } from "../runner/runtime.ts";
import type { SandboxSettings } from "../runner/sandbox/mod.ts";
import type { Store } from "../store/db.ts";
import { daemonStatus, runnersStatus } from "./status.ts";

/** What the requester side is built from: what `main.ts` has once the daemon started. */
export interface ControlSideDeps {
  config: Config;
  configFile: string;
  store: Store;
  stateDir: string;
  node: string;
  token: string;
  demo: boolean;
  localOnly: boolean;
  tailnet: { status: StatusSource | null; whois: WhoisSource | null };
  /** The worker's runners and sandbox, when inbound is on and the worker started. */
  worker: { listening: string[]; runtime: RunnerRuntime; sandbox: SandboxSettings } | null;
  /** Told when a first contact pinned a peer (the daemon logs it). */
  onPinned: (peer: string, target: PeerTarget) => void;
}

/** The built requester side: its flow, its peers and the control API's handler. */
export interface ControlSide {
  requester: Requester;
  peers: PeerDirectory;
  fetch(req: Request, remoteAddr: Deno.NetAddr): Response | Promise<Response>;
}

/** Builds the requester and the control API over it (nothing listens here; `main.ts` does). */
export function buildControlSide(d: ControlSideDeps): ControlSide {
  const { config } = d;
  const { requester, peers } = outboundFromConfig({
    store: d.store,
    self: d.node,
    config,
    ...d.tailnet,
    onPinned: d.onPinned,
  });
  const app = createControlApp({
    port: config.daemon.control_port,
    token: d.token,
    tokenFile: controlTokenPath(d.stateDir),
    maxBodyBytes: config.daemon.max_body_bytes,
    tasks: requester,
    node: {
      status: () =>
        daemonStatus({
          node: d.node,
          configFile: d.configFile,
          stateDir: d.stateDir,
          controlPort: config.daemon.control_port,
          demo: d.demo,
          localOnly: d.localOnly,
          inboundEnabled: config.inbound.enabled,
          listening: d.worker?.listening ?? [],
          runners: d.worker
            ? runnersStatus(d.worker.runtime, d.worker.sandbox)
            : { inbound: "disabled" },
          outboundPeers: config.outbound.peers.map((p) => p.name),
          tailnet: d.tailnet.status,
        }),
      peers: () => peers.list(),
    },
  });
  return { requester, peers, fetch: (req, remoteAddr) => app.fetch(req, { remoteAddr }) };
}
