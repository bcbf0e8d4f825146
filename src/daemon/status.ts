/**
 * @module
 * This daemon's `GET /v1/status` answer: what it is (node, version, modes, files), its worker,
 * its runners with the credential variables it has for each (names only), and its tailnet as
 * LocalAPI reports it at the moment of asking. The control API calls it through its
 * `NodeView` (`control/ports.ts`).
 *
 * @example
 * ```ts
 * import { daemonStatus } from "./status.ts";
 * const status = await daemonStatus({
 *   node: "laptop", configFile: "/home/ann/.config/cmesh/config.toml", stateDir: "/var/lib/cmesh",
 *   controlPort: 7434, demo: false, localOnly: false, inboundEnabled: false, listening: [],
 *   runners: { inbound: "disabled" }, outboundPeers: ["buildbox"], tailnet: null,
 * });
 * status.tailnet; // { ok: false, reason: "local demo: no tailnet" }
 * ```
 */
import type { StatusSource } from "../delegation/peer_resolve.ts";
import type { StatusAnswer } from "../protocol/control.ts";
import { credentialNames } from "../runner/credential_hint.ts";
import type { RunnerRuntime } from "../runner/runtime.ts";
import { type SandboxSettings, sandboxSummary } from "../runner/sandbox/mod.ts";
import { VERSION } from "../version.ts";

/** What the status answer reports beside the tailnet, which it asks for each time. */
export interface DaemonFacts {
  node: string;
  configFile: string;
  stateDir: string;
  controlPort: number;
  demo: boolean;
  localOnly: boolean;
  inboundEnabled: boolean;
  /** The worker's listen addresses (none when inbound is off or it did not start). */
  listening: string[];
  runners: StatusAnswer["runners"];
  outboundPeers: string[];
  /** LocalAPI status; null in the local demo and local-only modes. */
  tailnet: StatusSource | null;
}

/**
 * The worker's runners as `GET /v1/status` lists them: each available one with the credential
 * variables this daemon has for it (names only, never values: `cmesh doctor` reads them
 * instead of guessing from its own shell), the unavailable ones with why, and the sandbox.
 */
export function runnersStatus(
  runtime: RunnerRuntime,
  sandbox: SandboxSettings,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): StatusAnswer["runners"] {
  return {
    available: runtime.available.map((r) => ({
      name: r.name,
      binary: r.binary,
      credentials_present: credentialNames([...r.manifest.env.pass, ...r.envPass])
        .filter((n) => (env(n) ?? "") !== "" || n in r.envSet),
    })),
    unavailable: runtime.unavailable,
    sandbox: sandboxSummary(sandbox),
  };
}

/** The status answer, with the tailnet asked now. */
export async function daemonStatus(d: DaemonFacts): Promise<StatusAnswer> {
  const st = d.tailnet ? await d.tailnet() : null;
  return {
    node: d.node,
    version: VERSION,
    pid: Deno.pid,
    demo: d.demo,
    local_only: d.localOnly,
    config_file: d.configFile,
    state_dir: d.stateDir,
    control: `127.0.0.1:${d.controlPort}`,
    worker: { enabled: d.inboundEnabled, listening: d.listening },
    tailnet: st === null
      ? {
        ok: false,
        reason: d.localOnly ? "local-only mode: no tailnet" : "local demo: no tailnet",
      }
      : st.ok
      ? {
        ok: true,
        backend_state: st.status.backendState,
        self: st.status.self,
        peers: st.status.peers.length,
      }
      : { ok: false, reason: st.reason },
    runners: d.runners,
    outbound_peers: d.outboundPeers,
  };
}
