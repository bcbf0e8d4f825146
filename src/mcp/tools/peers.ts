/**
 * @module
 * `cmesh_peers`: the peers this machine may delegate to, whether each is online, what my own
 * outbound policy lets me send it, and what its inbound policy allows me (from its
 * `/v1/hello`). The first call an agent should make before delegating.
 *
 * @example
 * ```ts
 * import { registerPeersTool } from "./peers.ts";
 * // registerPeersTool(server, { control });
 * ```
 */
import { peerText } from "../format.ts";
import { errorResult, okResult } from "../results.ts";
import { PeersOut, toPeerOut } from "../schemas.ts";
import type { ToolRegistrar } from "./common.ts";

/** Registers `cmesh_peers`. */
export const registerPeersTool: ToolRegistrar = (server, { control }) => {
  server.registerTool("cmesh_peers", {
    title: "Peers you can delegate to",
    description:
      "Lists the machines (tailnet peers) you may delegate tasks to: whether each is online and running cmesh, what YOUR outbound policy lets you send it (profiles, cwd patterns), and what ITS inbound policy allows you (profiles, cwd roots on that machine, runners such as claude or codex, limits). Call it before cmesh_delegate to pick a peer, a cwd inside an allowed root, and the least profile that does the job. It asks each peer, so it can take a few seconds.",
    outputSchema: PeersOut,
    annotations: {
      title: "List peers",
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: true,
    },
  }, async (extra) => {
    const res = await control.peers(extra.signal);
    if (!res.ok) return errorResult(res.error);
    const peers = res.value.peers.map(toPeerOut);
    const text = peers.length
      ? [
        `${peers.length} peer(s) in outbound.peers:`,
        ...peers.map(peerText),
        "A task must fit both sides: my outbound policy and one of the peer's rules.",
      ].join("\n")
      : "No peers configured: add an [[outbound.peers]] entry to this machine's config.toml (see 'cmesh config path'), then restart the daemon.";
    return okResult(text, { peers });
  });
};
