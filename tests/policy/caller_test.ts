import assert from "node:assert/strict";
import {
  callerName,
  describeCaller,
  matchingRules,
  normaliseDnsName,
  ruleSelectsCaller,
} from "../../src/policy/caller.ts";
import { ciNode, laptop } from "./_helpers.ts";

const rule = (r: { peers?: string[]; tags?: string[]; logins?: string[] }) => ({
  peers: r.peers ?? [],
  tags: r.tags ?? [],
  logins: r.logins ?? [],
});

Deno.test("ruleSelectsCaller: table", () => {
  const cases: [string, ReturnType<typeof rule>, ReturnType<typeof laptop>, string | null][] = [
    ["node exact", rule({ peers: ["laptop"] }), laptop(), "peer laptop"],
    ["node case differs", rule({ peers: ["LAPTOP"] }), laptop(), null],
    [
      "dns exact",
      rule({ peers: ["laptop.tail4c2e1.ts.net"] }),
      laptop(),
      "peer laptop.tail4c2e1.ts.net",
    ],
    [
      "dns with dot",
      rule({ peers: ["laptop.tail4c2e1.ts.net."] }),
      laptop(),
      "peer laptop.tail4c2e1.ts.net.",
    ],
    [
      "dns case",
      rule({ peers: ["Laptop.Tail4c2e1.TS.net"] }),
      laptop(),
      "peer Laptop.Tail4c2e1.TS.net",
    ],
    ["dns of another tailnet", rule({ peers: ["laptop.other.ts.net"] }), laptop(), null],
    [
      "dns entry never matches the short name",
      rule({ peers: ["laptop."] }),
      laptop({ dnsName: "" }),
      null,
    ],
    ["empty node name never matches", rule({ peers: [""] }), laptop({ node: "" }), null],
    ["tag", rule({ tags: ["tag:ci"] }), ciNode(), "tag:ci"],
    ["tag on a user node", rule({ tags: ["tag:ci"] }), laptop(), null],
    ["login", rule({ logins: ["ann@example.com"] }), laptop(), "login ann@example.com"],
    [
      "login of tagged node",
      rule({ logins: ["ann@example.com"] }),
      ciNode({ login: "ann@example.com" }),
      null,
    ],
    ["null login", rule({ logins: ["ann@example.com"] }), laptop({ login: null }), null],
    ["empty rule", rule({}), laptop(), null],
    [
      "first selector wins for the label",
      rule({ peers: ["laptop"], logins: ["ann@example.com"] }),
      laptop(),
      "peer laptop",
    ],
  ];
  for (const [name, r, caller, want] of cases) {
    assert.equal(ruleSelectsCaller(r, caller), want, name);
  }
});

Deno.test("matchingRules keeps config order", () => {
  const rules = [
    rule({ tags: ["tag:x"] }),
    rule({ logins: ["ann@example.com"] }),
    rule({ peers: ["laptop"] }),
  ];
  assert.deepEqual(matchingRules(laptop(), rules), [
    { index: 1, by: "login ann@example.com" },
    { index: 2, by: "peer laptop" },
  ]);
});

Deno.test("naming helpers", () => {
  assert.equal(normaliseDnsName("A.B.ts.net."), "a.b.ts.net");
  assert.equal(callerName(laptop()), "laptop");
  assert.equal(callerName(laptop({ node: "" })), "laptop.tail4c2e1.ts.net");
  assert.equal(callerName(laptop({ node: "", dnsName: "" })), "nLAPTOP");
  assert.equal(
    describeCaller(ciNode()),
    "node ci-runner-3, DNS name ci-runner-3.tail4c2e1.ts.net, tags tag:ci, no login (tagged node)",
  );
  assert.equal(
    describeCaller(laptop()),
    "node laptop, DNS name laptop.tail4c2e1.ts.net, no tags, login ann@example.com",
  );
});
