import assert from "node:assert/strict";
import { identityFromWhois, shortName, trimDnsName } from "../../src/tailscale/identity.ts";

const sample = async (name: string) =>
  JSON.parse(await Deno.readTextFile(new URL(`../testdata/tailscale/${name}`, import.meta.url)));

Deno.test("user node from the whois sample", async () => {
  const r = identityFromWhois(await sample("whois-user.json"));
  assert.ok(r.ok, r.ok ? "" : r.reason);
  assert.deepEqual(r.identity, {
    node: "alice-mbp",
    dnsName: "alice-mbp.tail4c2e1.ts.net",
    stableId: "nHbV3aLbL621CNTRL",
    login: "alice@example.com",
    tags: [],
    addresses: ["100.101.21.37", "fd7a:115c:a1e0:ab12:4843:cd96:6265:1525"],
    capMap: {
      "example.com/cap/cmesh": [
        { profiles: ["review", "test"], cwd: ["/srv/repos/*"], runners: ["claude"] },
        { profiles: ["docs"] },
      ],
    },
    shared: false,
    expired: false,
  });
});

Deno.test("tagged node from the whois sample has no login", async () => {
  const r = identityFromWhois(await sample("whois-tagged.json"));
  assert.ok(r.ok, r.ok ? "" : r.reason);
  assert.equal(r.identity.node, "ci-runner-3");
  assert.equal(r.identity.login, null);
  assert.deepEqual(r.identity.tags, ["tag:ci"]);
  assert.equal(r.identity.stableId, "nQ7fKcZpW511CNTRL");
  assert.deepEqual(r.identity.capMap, {
    "example.com/cap/cmesh": [{ profiles: ["test"], cwd: ["/srv/ci/*"] }],
  });
});

Deno.test("big numeric IDs do not matter", () => {
  // 2^63-1 as raw JSON: JSON.parse rounds it; nothing may depend on it.
  const text =
    `{"Node":{"ID":9223372036854775807,"StableID":"nBIG","Name":"big.ts.net.","User":9223372036854775807,
    "Addresses":["100.64.0.9/32"]},"UserProfile":{"ID":9223372036854775807,"LoginName":"bob@example.com"},"CapMap":null}`;
  const r = identityFromWhois(JSON.parse(text));
  assert.ok(r.ok);
  assert.equal(r.identity.stableId, "nBIG");
  assert.equal(r.identity.login, "bob@example.com");
  assert.deepEqual(r.identity.capMap, {});
});

const base = () => ({
  Node: {
    StableID: "nX",
    Name: "Host-A.Tail1.ts.net.",
    Addresses: ["100.64.0.9/32", "FD7A:115C:A1E0::9/128"],
  },
  UserProfile: { LoginName: "carol@example.com" },
  CapMap: null,
});

Deno.test("names are lowercased and trimmed; addresses normalised", () => {
  const r = identityFromWhois(base());
  assert.ok(r.ok);
  assert.equal(r.identity.node, "host-a");
  assert.equal(r.identity.dnsName, "host-a.tail1.ts.net");
  assert.deepEqual(r.identity.addresses, ["100.64.0.9", "fd7a:115c:a1e0::9"]);
  assert.deepEqual(r.identity.tags, []);
});

Deno.test("empty Name falls back to ComputedName", () => {
  const b = base();
  const r = identityFromWhois({ ...b, Node: { ...b.Node, Name: "", ComputedName: "Box" } });
  assert.ok(r.ok);
  assert.equal(r.identity.node, "box");
  assert.equal(r.identity.dnsName, "");
  const none = identityFromWhois({ ...b, Node: { ...b.Node, Name: "" } });
  assert.ok(!none.ok);
  assert.match(none.reason, /neither Name nor ComputedName/);
});

Deno.test("tagged-devices login without tags still yields no login", () => {
  const b = base();
  const r = identityFromWhois({ ...b, UserProfile: { LoginName: "tagged-devices" } });
  assert.ok(r.ok);
  assert.equal(r.identity.login, null);
  assert.deepEqual(r.identity.tags, []);
  const tagged = identityFromWhois({ ...b, Node: { ...b.Node, Tags: ["tag:a", "tag:b"] } });
  assert.ok(tagged.ok);
  assert.equal(tagged.identity.login, null, "tags win over a real-looking login");
  const empty = identityFromWhois({ ...b, UserProfile: { LoginName: "" } });
  assert.ok(empty.ok);
  assert.equal(empty.identity.login, null);
});

Deno.test("shared and expired flags", () => {
  const b = base();
  const shared = identityFromWhois({ ...b, Node: { ...b.Node, Sharer: 12345 } });
  assert.ok(shared.ok && shared.identity.shared);
  const sharee = identityFromWhois({ ...b, Node: { ...b.Node, Hostinfo: { ShareeNode: true } } });
  assert.ok(sharee.ok && sharee.identity.shared);
  const expired = identityFromWhois({ ...b, Node: { ...b.Node, Expired: true } });
  assert.ok(expired.ok && expired.identity.expired);
});

Deno.test("CapMap: null lists, unknown values kept, __proto__ stays data", () => {
  const b = base();
  const r = identityFromWhois(
    JSON.parse(
      JSON.stringify({ ...b, CapMap: { "x/cap/a": null, "x/cap/b": [1, "s", { k: true }] } }),
    ),
  );
  assert.ok(r.ok);
  assert.deepEqual(r.identity.capMap, { "x/cap/a": [], "x/cap/b": [1, "s", { k: true }] });
  const proto = identityFromWhois(
    JSON.parse(`{"Node":{"StableID":"n","Name":"a.b.","Addresses":null},
    "UserProfile":{"LoginName":"x@y"},"CapMap":{"__proto__":[{"admin":true}]}}`),
  );
  assert.ok(proto.ok);
  assert.ok(Object.hasOwn(proto.identity.capMap, "__proto__"));
  assert.equal(Object.getPrototypeOf(proto.identity.capMap), Object.prototype);
  assert.equal(proto.identity.capMap.length, undefined);
});

Deno.test("malformed whois bodies are rejected with the field named", () => {
  const b = base();
  const cases: Array<[unknown, RegExp]> = [
    [null, /unexpected shape/],
    [{ ...b, Node: undefined }, /Node/],
    [{ ...b, Node: { ...b.Node, StableID: "" } }, /StableID/],
    [{ ...b, Node: { ...b.Node, StableID: 5 } }, /StableID/],
    [{ ...b, UserProfile: {} }, /UserProfile\.LoginName/],
    [{ ...b, Node: { ...b.Node, Tags: "tag:x" } }, /Tags/],
    [{ ...b, CapMap: [] }, /CapMap/],
    [{ ...b, CapMap: { "a/cap/b": { v: 1 } } }, /must be a list/],
    [{ ...b, Node: { ...b.Node, Addresses: ["not-an-ip/32"] } }, /malformed address/],
  ];
  for (const [body, re] of cases) {
    const r = identityFromWhois(body);
    assert.ok(!r.ok, JSON.stringify(body));
    assert.match(r.reason, re);
  }
});

Deno.test("name helpers", () => {
  assert.equal(trimDnsName("A.B.C."), "a.b.c");
  assert.equal(trimDnsName("a.b"), "a.b");
  assert.equal(shortName("Alice-MBP.tail.ts.net."), "alice-mbp");
});
