/**
 * @module
 * The IPN bus of the LocalAPI double (`localapi_double.ts`): `GET /localapi/v0/watch-ipn-bus`
 * as tailscaled serves it (`ipn/localapi` `serveWatchIPNBus`, `ipn/ipnlocal/bus.go`): 400
 * `bad mask` for a non-number; else a 200 `application/json` stream of `ipn.Notify` objects,
 * one compact JSON per line (Go's `json.Encoder`): first `{Version, SessionID, State}` when the
 * mask has `NotifyInitialState` (2), then one message per change (`PeersRemoved` node IDs,
 * `PeersChanged` full nodes only for masks with `NotifyPeerChanges`/`NotifyPeerPatches`,
 * `SelfChange`, `State`). Int64 IDs are written as bare JSON numbers, as Go does.
 *
 * @example
 * ```ts
 * const bus = createIpnBusHub(() => config);
 * bus.serve(new URLSearchParams("mask=2"), new Headers()); // a streaming Response
 * bus.send({ PeersRemoved: [7] });
 * ```
 */
import { goError } from "./localapi_gowire.ts";
import { buildNode, nodeKeys, type NodeSpec } from "./localapi_fixtures.ts";
import type { DoubleConfig } from "./localapi_double.ts";

/** The double's IPN bus. */
export interface IpnBusHub {
  /** Answers one `watch-ipn-bus` request. */
  serve(params: URLSearchParams, headers: Headers): Response;
  /** Tells watchers what changed between two configs, as tailscaled would. */
  emitChanges(before: DoubleConfig, after: DoubleConfig): void;
  /** Sends one notification (to peer-change watchers only when `wantsPeers`). */
  send(n: Record<string, unknown>, wantsPeers?: boolean): void;
  /** Ends every stream. */
  drop(): void;
  /** Streams open now. */
  readonly count: number;
}

/** Creates the bus; `config` returns what the double serves now. */
export function createIpnBusHub(config: () => DoubleConfig): IpnBusHub {
  // IPN bus watchers: each a stream controller and the mask it asked for.
  const watchers = new Map<ReadableStreamDefaultController<Uint8Array>, number>();
  const STATES = [
    "NoState",
    "InUseOtherUser",
    "NeedsLogin",
    "NeedsMachineAuth",
    "Stopped",
    "Starting",
    "Running",
  ];
  const stateNum = (s?: string) => Math.max(0, STATES.indexOf(s ?? "Running"));
  const json = (v: unknown) =>
    JSON.stringify(v, (_k, x) => typeof x === "bigint" ? `__big${x}__` : x)
      .replace(/"__big(\d+)__"/g, "$1");
  const send = (n: Record<string, unknown>, wantsPeers?: boolean) => {
    const line = new TextEncoder().encode(
      json({ Version: "1.90.6-t0123456789-g0123456789", ...n }) + "\n",
    );
    for (const [ctl, mask] of watchers) {
      if (wantsPeers && (mask & (4096 | 32768)) === 0) continue;
      try {
        ctl.enqueue(line);
      } catch {
        watchers.delete(ctl);
      }
    }
  };
  const emitChanges = (before: DoubleConfig, after: DoubleConfig) => {
    const t = { magicDnsSuffix: after.magicDnsSuffix, tailnetName: after.tailnetName };
    const key = (n: NodeSpec) => JSON.stringify(n);
    const old = new Map((before.nodes ?? []).map((n) => [n.name, n]));
    const now = new Map((after.nodes ?? []).map((n) => [n.name, n]));
    const removed = [...old.values()].filter((n) => !now.has(n.name)).map((n) =>
      nodeKeys(n).nodeId
    );
    const changed = [...now.values()].filter((n) =>
      old.get(n.name) === undefined || key(old.get(n.name)!) !== key(n)
    );
    if (removed.length) send({ PeersRemoved: removed }, true);
    if (changed.length) send({ PeersChanged: changed.map((n) => buildNode(n, t)) }, true);
    if (key(before.self) !== key(after.self)) send({ SelfChange: buildNode(after.self, t) });
    if ((before.backendState ?? "Running") !== (after.backendState ?? "Running")) {
      send({ State: stateNum(after.backendState) });
    }
  };
  const serveWatch = (params: URLSearchParams, headers: Headers): Response => {
    if (config().ipnBus === false) return goError(404, "404 page not found", headers);
    if (config().permitRead === false) return goError(403, "watch ipn bus access denied", headers);
    const maskText = params.get("mask") ?? "0";
    if (!/^\d+$/.test(maskText)) return goError(400, "bad mask", headers);
    const mask = Number(maskText);
    let me: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(ctl) {
        me = ctl;
        watchers.set(ctl, mask);
        if (mask & 2) {
          ctl.enqueue(new TextEncoder().encode(
            json({
              Version: "1.90.6-t0123456789-g0123456789",
              SessionID: crypto.randomUUID(),
              State: stateNum(config().backendState),
            }) + "\n",
          ));
        }
      },
      cancel() {
        watchers.delete(me);
      },
    });
    headers.set("Content-Type", "application/json");
    return new Response(body, { status: 200, headers });
  };
  const dropWatchers = () => {
    for (const ctl of watchers.keys()) {
      try {
        ctl.close();
      } catch { /* gone */ }
    }
    watchers.clear();
  };

  return {
    serve: serveWatch,
    emitChanges,
    send,
    drop: dropWatchers,
    get count() {
      return watchers.size;
    },
  };
}
