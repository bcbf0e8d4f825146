import assert from "node:assert/strict";
import { LocalApiClient } from "../../src/tailscale/localapi.ts";
import { type LocalApiDouble, startLocalApiDouble } from "../support/localapi_double.ts";

const SELF = { name: "worker", ips: ["100.64.0.1", "fd7a:115c:a1e0::1"], tags: ["tag:worker"] };
const LAPTOP = {
  name: "laptop",
  ips: ["100.64.0.2", "fd7a:115c:a1e0::2"],
  login: "alice@example.com",
  capMap: { "example.com/cap/cmesh": [{ profiles: ["query"] }] },
};
const CI = { name: "ci", ips: ["100.64.0.3"], tags: ["tag:ci"], os: "linux" };

async function withDouble(
  fn: (api: LocalApiDouble, client: LocalApiClient) => Promise<void>,
  extra: Partial<Parameters<typeof startLocalApiDouble>[0]> = {},
): Promise<void> {
  const api = await startLocalApiDouble({ self: SELF, nodes: [LAPTOP, CI], ...extra });
  try {
    await fn(api, LocalApiClient.create({ socket: api.socketPath!, timeoutMs: 1000 }));
  } finally {
    await api.stop();
  }
}

Deno.test("whois: user node, tagged node, self", () =>
  withDouble(async (api, client) => {
    const alice = await client.whois("100.64.0.2", 41641);
    assert.ok(alice.ok, alice.ok ? "" : alice.reason);
    assert.equal(alice.identity.node, "laptop");
    assert.equal(alice.identity.login, "alice@example.com");
    assert.deepEqual(alice.identity.capMap, LAPTOP.capMap);
    assert.equal(api.requests.at(-1)!.query, "?addr=100.64.0.2%3A41641");

    const ci = await client.whois("100.64.0.3", 1);
    assert.ok(ci.ok);
    assert.equal(ci.identity.login, null);
    assert.deepEqual(ci.identity.tags, ["tag:ci"]);
    assert.deepEqual(ci.identity.capMap, {});

    const self = await client.whois("100.64.0.1", 1);
    assert.ok(self.ok);
    assert.equal(self.identity.node, "worker");

    const v6 = await client.whois("FD7A:115C:A1E0::2", 443);
    assert.ok(v6.ok);
    assert.equal(
      api.requests.at(-1)!.query,
      `?addr=${encodeURIComponent("[fd7a:115c:a1e0::2]:443")}`,
    );
  }));

Deno.test("whois un-maps ::ffff: itself (tailscaled < 1.102 would 404)", () =>
  withDouble(async (api, client) => {
    const r = await client.whois("::ffff:100.64.0.2", 5);
    assert.ok(r.ok, r.ok ? "" : r.reason);
    assert.equal(api.requests.at(-1)!.query, "?addr=100.64.0.2%3A5");
  }, { unmapMapped: false }));

Deno.test("whois: unknown caller is not_found with tailscaled's text", () =>
  withDouble(async (_api, client) => {
    const r = await client.whois("100.64.0.99", 1234);
    assert.deepEqual(r.ok, false);
    assert.ok(!r.ok);
    assert.equal(r.code, "not_found");
    assert.match(r.reason, /^whois 100\.64\.0\.99:1234: .*404 "no match for IP:port"/);
  }));

Deno.test("whois: userspace proxy map needs the full ip:port", () =>
  withDouble(async (_api, client) => {
    const r = await client.whois("127.0.0.1", 50123);
    assert.ok(r.ok, r.ok ? "" : r.reason);
    assert.equal(r.identity.node, "laptop");
    const other = await client.whois("127.0.0.1", 50124);
    assert.ok(!other.ok && other.code === "not_found");
  }, { proxyMap: { "127.0.0.1:50123": "100.64.0.2" } }));

Deno.test("whois: garbage address never reaches tailscaled", () =>
  withDouble(async (api, client) => {
    for (const [ip, port] of [["nope", 1], ["100.64.0.2", 70000], ["100.64.0.2", -1]] as const) {
      const r = await client.whois(ip, port);
      assert.ok(!r.ok && r.code === "not_found", `${ip} ${port}`);
    }
    assert.equal(api.requests.length, 0);
  }));

Deno.test("whois: every non-200 fails closed with the right code", () =>
  withDouble(async (api, client) => {
    const cases: Array<[number, string | undefined, string, RegExp]> = [
      [500, undefined, "unavailable", /500 "server has no local backend"/],
      [503, "no netmap", "unavailable", /503/],
      [403, undefined, "denied", /403 "whois access denied"/],
      [401, "Tailscale already in use by bob", "denied", /401 "Tailscale already in use by bob"/],
      [400, "invalid 'addr' parameter", "bad_response", /400/],
      [412, "precondition", "bad_response", /412/],
      [204, "", "bad_response", /204/],
      [302, "", "bad_response", /302/],
    ];
    for (const [status, body, code, re] of cases) {
      api.failNext(status, body);
      const r = await client.whois("100.64.0.2", 1);
      assert.ok(!r.ok, `status ${status}`);
      assert.equal(r.code, code, `status ${status}`);
      assert.match(r.reason, re);
    }
  }));

Deno.test("whois: 200 with bad JSON, wrong shape, or oversize body", () =>
  withDouble(async (api, client) => {
    api.respondNext({ body: "{not json" });
    let r = await client.whois("100.64.0.2", 1);
    assert.ok(!r.ok && r.code === "bad_response");
    assert.match(r.reason, /malformed JSON/);

    api.respondNext({
      body: JSON.stringify({ Node: { Name: "x." }, UserProfile: { LoginName: "a" } }),
    });
    r = await client.whois("100.64.0.2", 1);
    assert.ok(!r.ok && r.code === "bad_response");
    assert.match(r.reason, /Node\.StableID/);

    api.respondNext({ body: new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]) });
    r = await client.whois("100.64.0.2", 1);
    assert.ok(!r.ok && r.code === "bad_response", "invalid UTF-8");

    const small = LocalApiClient.create({ socket: api.socketPath!, maxWhoisBytes: 1024 });
    r = await small.whois("100.64.0.2", 1); // the real answer is ~1.3 KiB, sent chunked
    assert.ok(!r.ok && r.code === "bad_response");
    assert.match(r.reason, /exceeds 1024 bytes/);
  }));

Deno.test("whois: hang → unavailable after the timeout", () =>
  withDouble(async (api) => {
    const client = LocalApiClient.create({ socket: api.socketPath!, timeoutMs: 100 });
    // The double answers after 2 s: only the client's own timeout yields "unavailable".
    api.hang(2000);
    const r = await client.whois("100.64.0.2", 1);
    assert.ok(!r.ok && r.code === "unavailable");
    assert.match(r.reason, /did not answer within 100 ms/);
  }));

Deno.test("whois: missing socket names the path and the config key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/tailscaled.sock`;
    const r = await LocalApiClient.create({ socket: path }).whois("100.64.0.2", 1);
    assert.ok(!r.ok);
    assert.equal(r.code, "unavailable");
    assert.equal(
      r.reason,
      `whois 100.64.0.2:1: tailscaled LocalAPI socket ${path} not found: is tailscaled running? ` +
        `(set tailscale.socket in config.toml if it lives elsewhere)`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("whois: LocalAPI without read permission is denied", () =>
  withDouble(async (_api, client) => {
    const r = await client.whois("100.64.0.2", 1);
    assert.ok(!r.ok && r.code === "denied");
    assert.match(r.reason, /whois access denied/);
  }, { permitRead: false }));

Deno.test("status: self, peers, suffix, state", () =>
  withDouble(async (api, client) => {
    const s = await client.status();
    assert.ok(s.ok, s.ok ? "" : s.reason);
    assert.equal(s.backendState, "Running");
    assert.equal(s.magicDnsSuffix, "tail4c2e1.ts.net");
    assert.equal(s.tun, true);
    assert.deepEqual(s.self?.addresses, ["100.64.0.1", "fd7a:115c:a1e0::1"]);
    assert.deepEqual(s.self?.tags, ["tag:worker"]);
    assert.deepEqual(s.peers.map((p) => [p.name, p.os, p.tags]), [
      ["ci", "linux", ["tag:ci"]],
      ["laptop", "linux", []],
    ]);
    const selfOnly = await client.status({ peers: false });
    assert.ok(selfOnly.ok);
    assert.deepEqual(selfOnly.peers, []);
    assert.equal(api.requests.at(-1)!.query, "?peers=false");

    api.update({ backendState: "NeedsLogin", tun: false });
    const s2 = await client.status();
    assert.ok(s2.ok && s2.backendState === "NeedsLogin" && s2.tun === false);

    api.failNext(500);
    const s3 = await client.status();
    assert.ok(!s3.ok && s3.code === "unavailable");
    assert.match(s3.reason, /^status: /);

    api.respondNext({ body: "[]" });
    const s4 = await client.status();
    assert.ok(!s4.ok && s4.code === "bad_response");
  }));

Deno.test("setNodes changes who whois finds", () =>
  withDouble(async (api, client) => {
    assert.ok((await client.whois("100.64.0.2", 1)).ok);
    api.setNodes([CI]);
    const r = await client.whois("100.64.0.2", 1);
    assert.ok(!r.ok && r.code === "not_found");
  }));

Deno.test("describe() says where the client goes", () => {
  assert.equal(
    LocalApiClient.create({ socket: "/run/ts.sock" }).describe(),
    "unix socket /run/ts.sock",
  );
});
