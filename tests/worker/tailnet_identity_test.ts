import assert from "node:assert/strict";
import { Config } from "../../src/config/schema.ts";
import { LocalApiClient } from "../../src/tailscale/localapi.ts";
import { NodeHosts } from "../../src/worker/guards/node_hosts.ts";
import { TailnetIdentity } from "../../src/worker/tailnet_identity.ts";
import { startLocalApiDouble } from "../support/localapi_double.ts";
import { waitFor } from "../support/proc.ts";

const SELF = { name: "worker", ips: ["100.64.0.1"], tags: ["tag:worker"] };
const LAPTOP = { name: "laptop", ips: ["100.64.0.2"], login: "alice@example.com" };

Deno.test("TailnetIdentity follows the IPN bus: removed peers, re-login, new names", async () => {
  const api = await startLocalApiDouble({ self: SELF, nodes: [LAPTOP] });
  const client = LocalApiClient.create({ socket: api.socketPath! });
  const hosts = new NodeHosts(7433);
  // A cache that would keep answers for an hour: only the bus can make it forget.
  const ti = new TailnetIdentity(Config.parse({}).tailscale, { self: null }, hosts, {
    client,
    whoisTtlMs: 3_600_000,
  });
  const whoisCount = () => api.requests.filter((r) => r.path === "/localapi/v0/whois").length;
  const statusCount = () => api.requests.filter((r) => r.path === "/localapi/v0/status").length;
  try {
    await ti.start();
    assert.equal(hosts.allowed("worker.tail4c2e1.ts.net:7433"), true, "names read at start");
    assert.equal((await ti.lookup.whois("100.64.0.2", 1)).ok, true);
    await ti.lookup.whois("100.64.0.2", 2);
    assert.equal(whoisCount(), 1, "cached while nothing changes");

    let seen = statusCount();
    api.setNodes([]);
    await waitFor("a status re-read", () => statusCount() > seen ? true : undefined);
    const gone = await ti.lookup.whois("100.64.0.2", 3);
    assert.equal(gone.ok, false, "the removed laptop is not served from the cache");
    assert.equal(whoisCount(), 2);

    seen = statusCount();
    api.update({ self: { ...SELF, name: "worker2", stableId: "nRELOGIN2CNTRL" } });
    await waitFor("a status re-read", () => statusCount() > seen ? true : undefined);
    await waitFor(
      "the new name",
      () => hosts.allowed("worker2.tail4c2e1.ts.net") ? true : undefined,
    );
    const self = await ti.lookup.whois("100.64.0.1", 4);
    assert.equal(self.ok, false);
    assert.match(!self.ok ? self.reason : "", /this node itself/);
    assert.equal(hosts.allowed("worker.tail4c2e1.ts.net"), false, "the old name is gone");
  } finally {
    await ti.stop();
    await api.stop();
  }
});

Deno.test("TailnetIdentity caches nothing until the bus is up (fail closed)", async () => {
  // A tailscaled without the IPN bus endpoint: changes would go unnoticed.
  const api = await startLocalApiDouble({ self: SELF, nodes: [LAPTOP], ipnBus: false });
  const client = LocalApiClient.create({ socket: api.socketPath! });
  const ti = new TailnetIdentity(Config.parse({}).tailscale, { self: null }, null, {
    client,
    whoisTtlMs: 3_600_000,
  });
  const whoisCount = () => api.requests.filter((r) => r.path === "/localapi/v0/whois").length;
  try {
    await ti.start();
    const before = whoisCount();
    await ti.lookup.whois("100.64.0.2", 1);
    await ti.lookup.whois("100.64.0.2", 2);
    assert.equal(whoisCount() - before, 2, "not cached while the bus is down");
    api.update({ ipnBus: true });
    await waitFor("the bus up", () => api.watchers > 0 ? true : undefined);
    await waitFor("caching again", async () => {
      const n = whoisCount();
      await ti.lookup.whois("100.64.0.2", 3);
      await ti.lookup.whois("100.64.0.2", 4);
      return whoisCount() - n <= 1 ? true : undefined;
    });
  } finally {
    await ti.stop();
    await api.stop();
  }
});

Deno.test("TailnetIdentity.follow: one bus connection tells a follower about changes too", async () => {
  const api = await startLocalApiDouble({ self: SELF, nodes: [LAPTOP] });
  const client = LocalApiClient.create({ socket: api.socketPath! });
  const ti = new TailnetIdentity(Config.parse({}).tailscale, { self: null }, null, { client });
  const heard: string[] = [];
  try {
    await ti.start();
    // A follower added once the bus is up hears that at once, then every change.
    ti.follow({
      onChange: () => heard.push("change"),
      onConnected: (up) => heard.push(up ? "up" : "down"),
    });
    assert.deepEqual(heard, ["up"]);
    api.setNodes([]);
    await waitFor("the change", () => heard.includes("change") ? true : undefined);
    assert.equal(api.watchers, 1, "the follower shares the identity's bus connection");
  } finally {
    await ti.stop();
    await api.stop();
  }
});
