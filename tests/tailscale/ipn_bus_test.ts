import assert from "node:assert/strict";
import { classifyNotify, IPN_BUS_TARGET, IpnBusWatcher } from "../../src/tailscale/ipn_bus.ts";
import { LocalApiClient } from "../../src/tailscale/localapi.ts";
import { waitFor } from "../support/proc.ts";
import { startLocalApiDouble } from "../support/localapi_double.ts";

const SELF = { name: "worker", ips: ["100.64.0.1"], tags: ["tag:worker"] };
const LAPTOP = { name: "laptop", ips: ["100.64.0.2"], login: "alice@example.com" };

Deno.test("classifyNotify: identity changes, harmless patches, errors", () => {
  assert.equal(classifyNotify({ Version: "1", State: 6 }), "identity");
  assert.equal(classifyNotify({ PeersRemoved: [7] }), "identity");
  assert.equal(classifyNotify({ PeersChanged: [{ ID: 7 }] }), "identity");
  assert.equal(classifyNotify({ SelfChange: { ID: 1 } }), "identity");
  assert.equal(classifyNotify({ NetMap: {} }), "identity");
  assert.equal(classifyNotify({ LoginFinished: {} }), "identity");
  assert.equal(classifyNotify({ Prefs: {} }), "identity");
  assert.equal(
    classifyNotify({ PeerChangedPatch: [{ NodeID: 7, Online: true, LastSeen: "x" }] }),
    "ignore",
  );
  assert.equal(
    classifyNotify({ PeerChangedPatch: [{ NodeID: 7, KeyExpiry: "2026-01-01T00:00:00Z" }] }),
    "identity",
  );
  assert.equal(classifyNotify({ PeerChangedPatch: [{ NodeID: 7, CapMap: {} }] }), "identity");
  assert.equal(classifyNotify({ Version: "1", Engine: { RBytes: 1 } }), "ignore");
  assert.equal(classifyNotify({ ErrMessage: "watcher fell behind" }), "error");
  assert.equal(classifyNotify([1]), "error");
  assert.equal(classifyNotify("x"), "error");
});

Deno.test("IpnBusWatcher against the LocalAPI double: connect, changes, reconnect, stop", async () => {
  const api = await startLocalApiDouble({ self: SELF, nodes: [LAPTOP] });
  const client = LocalApiClient.create({ socket: api.socketPath! });
  const changes: string[] = [];
  const states: boolean[] = [];
  const bus = new IpnBusWatcher(client.busSource()!, {
    onChange: (why) => changes.push(why),
    onConnected: (up) => states.push(up),
  }, { minBackoffMs: 10, maxBackoffMs: 50 });
  try {
    assert.equal(await bus.start(), true);
    assert.equal(bus.connected, true);
    assert.deepEqual(states, [true]);
    assert.equal(changes.length, 1, "connecting counts as a change (re-read state)");
    assert.ok(
      api.requests.some((r) =>
        r.path === "/localapi/v0/watch-ipn-bus" &&
        r.query === `?mask=${IPN_BUS_TARGET.split("=")[1]}`
      ),
    );

    api.setNodes([]); // laptop removed → PeersRemoved
    await waitFor("PeersRemoved", () => changes.length >= 2 ? true : undefined);
    api.notify({ PeerChangedPatch: [{ NodeID: 1, Online: false }] });
    api.notify({ PeersChanged: [{ ID: 1 }] });
    await waitFor("PeersChanged", () => changes.length >= 3 ? true : undefined);
    assert.equal(changes.length, 3, "the Online patch was ignored");

    api.dropWatchers(); // tailscaled restarted
    await waitFor("down", () => states.includes(false) ? true : undefined);
    await waitFor("reconnected", () => states.at(-1) === true ? true : undefined);
    assert.deepEqual(states, [true, false, true]);

    api.notify({ ErrMessage: "watcher fell behind" });
    await waitFor("dropped on ErrMessage", () => states.length >= 4 ? true : undefined);
    assert.equal(states[3], false);
  } finally {
    await bus.stop();
    await api.stop();
  }
  assert.equal(bus.connected, false);
});

Deno.test("IpnBusWatcher: no LocalAPI, bad answers and oversize lines keep it down (fail closed)", async () => {
  const dir = await Deno.makeTempDir();
  const missing = LocalApiClient.create({ socket: `${dir}/none.sock` });
  const states: boolean[] = [];
  const bus = new IpnBusWatcher(missing.busSource()!, {
    onChange: () => {},
    onConnected: (up) => states.push(up),
  }, { minBackoffMs: 10 });
  assert.equal(await bus.start(), false);
  await bus.stop();
  assert.deepEqual(states, [], "never reported up");

  const api = await startLocalApiDouble({ self: SELF });
  try {
    api.failNext(403, "watch ipn bus access denied");
    const client = LocalApiClient.create({ socket: api.socketPath! });
    const b2States: boolean[] = [];
    const b2 = new IpnBusWatcher(client.busSource()!, {
      onChange: () => {},
      onConnected: (upNow) => b2States.push(upNow),
    }, { minBackoffMs: 10, maxLineBytes: 150 });
    assert.equal(await b2.start(), false, "a 403 is not a subscription");
    await waitFor("connected on retry", () => b2.connected ? true : undefined);
    const up = b2.connected;
    api.notify({ PeersChanged: [{ ID: 1, Name: "x".repeat(300) }] });
    await waitFor("dropped: line too long", () => b2States.includes(false) ? true : undefined);
    assert.equal(up, true);
    await b2.stop();
  } finally {
    await api.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the CLI transport has no bus", () => {
  const c = LocalApiClient.create({ transport: "cli", cli: "/usr/bin/tailscale" });
  assert.equal(c.busSource(), null);
});
