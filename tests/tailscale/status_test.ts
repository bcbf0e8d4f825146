import assert from "node:assert/strict";
import { statusFromWire } from "../../src/tailscale/status.ts";

const sample = async () =>
  JSON.parse(
    await Deno.readTextFile(new URL("../testdata/tailscale/status.json", import.meta.url)),
  );

Deno.test("status sample maps to self and sorted peers", async () => {
  const r = statusFromWire(await sample());
  assert.ok(r.ok, r.ok ? "" : r.reason);
  assert.deepEqual(r.status, {
    backendState: "Running",
    magicDnsSuffix: "tail4c2e1.ts.net",
    tun: true,
    version: "1.90.6-t0123456789-g0123456789",
    health: [],
    self: {
      name: "worker-1",
      dnsName: "worker-1.tail4c2e1.ts.net",
      stableId: "nK2mR8sTu411CNTRL",
      addresses: ["100.88.12.7", "fd7a:115c:a1e0:ab12:4843:cd96:6258:c07"],
      online: true,
      tags: ["tag:worker"],
    },
    peers: [
      {
        name: "alice-mbp",
        dnsName: "alice-mbp.tail4c2e1.ts.net",
        stableId: "nHbV3aLbL621CNTRL",
        addresses: ["100.101.21.37", "fd7a:115c:a1e0:ab12:4843:cd96:6265:1525"],
        online: true,
        tags: [],
        os: "macOS",
        shared: false,
      },
      {
        name: "ci-runner-3",
        dnsName: "ci-runner-3.tail4c2e1.ts.net",
        stableId: "nQ7fKcZpW511CNTRL",
        addresses: ["100.77.3.9", "fd7a:115c:a1e0:ab12:4843:cd96:624d:309"],
        online: false,
        tags: ["tag:ci"],
        os: "linux",
        shared: false,
      },
    ],
  });
});

Deno.test("status before login: empty self fields, null peers", () => {
  const r = statusFromWire({
    BackendState: "NeedsLogin",
    TUN: false,
    Self: { ID: "", HostName: "box", DNSName: "", TailscaleIPs: null, Online: false },
    Peer: null,
    Health: null,
  });
  assert.ok(r.ok, r.ok ? "" : r.reason);
  assert.equal(r.status.backendState, "NeedsLogin");
  assert.equal(r.status.tun, false);
  assert.deepEqual(r.status.self, {
    name: "box",
    dnsName: "",
    stableId: "",
    addresses: [],
    online: false,
    tags: [],
  });
  assert.deepEqual(r.status.peers, []);
  const noSelf = statusFromWire({ BackendState: "NoState", Self: null });
  assert.ok(noSelf.ok && noSelf.status.self === null);
});

Deno.test("status shape errors are reported", async () => {
  const s = await sample();
  const cases: Array<[unknown, RegExp]> = [
    [{}, /BackendState/],
    [{ ...s, Peer: [] }, /Peer/],
    [{ ...s, Self: { ...s.Self, TailscaleIPs: ["100.64.0.999"] } }, /Self has a malformed address/],
    [{ ...s, Self: { ...s.Self, Online: "yes" } }, /Self\.Online/],
  ];
  for (const [body, re] of cases) {
    const r = statusFromWire(body);
    assert.ok(!r.ok);
    assert.match(r.reason, re);
  }
});

Deno.test("shared-in and sharee peers are marked shared (never outbound candidates)", async () => {
  const body = await sample();
  const keys = Object.keys(body.Peer);
  body.Peer[keys[0]].AltSharerUserID = 12345;
  body.Peer[keys[1]].ShareeNode = true;
  const r = statusFromWire(body);
  assert.ok(r.ok, r.ok ? "" : r.reason);
  assert.deepEqual(r.status.peers.map((p) => p.shared), [true, true]);
  body.Peer[keys[0]].AltSharerUserID = 0;
  body.Peer[keys[1]].ShareeNode = false;
  const again = statusFromWire(body);
  assert.ok(again.ok);
  assert.deepEqual(again.status.peers.map((p) => p.shared), [false, false]);
});
