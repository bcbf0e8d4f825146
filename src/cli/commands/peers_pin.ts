/**
 * @module
 * `cmesh peers pin <peer> [--stable-id <id>]` and `cmesh peers unpin <peer>`: the user's say
 * over which Tailscale node a configured peer name means. Pinning without `--stable-id` looks
 * the name up exactly as a delegation would (this tailnet's own nodes only, unambiguous,
 * confirmed with whois) and pins what it finds; a pin set in `config.toml`
 * (`outbound.peers[].stable_id`) is changed there, not here. Works without the daemon (the
 * daemon reads pins at every delegation).
 */
import { tailnetSources } from "../../delegation/tailnet_sources.ts";
import { resolvePeerTarget } from "../../delegation/peer_resolve.ts";
import { resolveLocalApi } from "../../daemon/worker_setup.ts";
import { getPin, removePin, setPin } from "../../store/pins.ts";
import { LocalApiClient } from "../../tailscale/localapi.ts";
import { loadConfigFor } from "../context.ts";
import { CliError, type CommonOptions, emit, EXIT } from "../output.ts";
import { openStateStore } from "../state_store.ts";

const STABLE_ID = /^[A-Za-z0-9_-]{1,64}$/;

async function configuredPeer(name: string, opts: CommonOptions) {
  const { config } = await loadConfigFor(opts);
  const peer = config.outbound.peers.find((p) => p.name === name);
  if (!peer) {
    throw new CliError(
      `peer ${name} is not in outbound.peers; configured peers: ${
        config.outbound.peers.map((p) => p.name).join(", ") || "none"
      }`,
      EXIT.FAILURE,
      "peer_unknown",
    );
  }
  if (peer.stable_id) {
    throw new CliError(
      `${name} is pinned in the config file (outbound.peers[].stable_id = "${peer.stable_id}"): ` +
        `change or remove it there`,
      EXIT.FAILURE,
      "pinned_in_config",
    );
  }
  return { config, peer };
}

/** `cmesh peers pin <peer> [--stable-id <id>]`. */
export async function peersPin(
  name: string,
  opts: CommonOptions & { stableId?: string },
): Promise<void> {
  const { config, peer } = await configuredPeer(name, opts);
  let stableId = opts.stableId;
  let dnsName: string | null = null;
  if (stableId !== undefined && !STABLE_ID.test(stableId)) {
    throw new CliError(
      `--stable-id must be a Tailscale StableID like nHbV3aLbL621CNTRL, got ${
        JSON.stringify(stableId)
      }`,
      EXIT.USAGE,
      "bad_stable_id",
    );
  }
  if (stableId === undefined) {
    const api = LocalApiClient.fromConfig(
      (await resolveLocalApi(config.tailscale, false)).tailscale,
    );
    const r = await resolvePeerTarget(peer, {
      ...tailnetSources(api),
      pin: null,
    });
    if (!r.ok) {
      throw new CliError(
        `cannot pin ${name}: ${r.message}`,
        EXIT.FAILURE,
        r.rule ? "refused" : "not_found",
        r.rule ? { rule: r.rule } : undefined,
      );
    }
    if (r.target.stableId === null) {
      throw new CliError(
        `cannot pin ${name}: its address ${peer.address} is outside the tailnet (whois cannot name it)`,
        EXIT.FAILURE,
        "unverifiable",
      );
    }
    stableId = r.target.stableId;
    dnsName = r.target.dnsName;
  }
  using store = await openStateStore(opts);
  const previous = getPin(store, name);
  const pin = setPin(
    store,
    { name, stable_id: stableId, dns_name: dnsName, source: "user" },
    { local: "cli", command: "cmesh peers pin" },
  );
  emit(
    opts,
    { peer: name, pin, previous: previous?.stable_id ?? null },
    () =>
      `pinned ${name} to node ${stableId}${dnsName ? ` (${dnsName})` : ""}${
        previous && previous.stable_id !== stableId ? `; was ${previous.stable_id}` : ""
      }`,
  );
}

/** `cmesh peers unpin <peer>`. */
export async function peersUnpin(name: string, opts: CommonOptions): Promise<void> {
  await configuredPeer(name, opts);
  using store = await openStateStore(opts);
  const previous = removePin(store, name, { local: "cli", command: "cmesh peers unpin" });
  emit(
    opts,
    { peer: name, previous: previous?.stable_id ?? null },
    () =>
      previous
        ? `unpinned ${name} (was node ${previous.stable_id}); the next successful contact pins it again`
        : `${name} was not pinned`,
  );
}
