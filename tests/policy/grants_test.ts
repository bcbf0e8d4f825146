import assert from "node:assert/strict";
import { grantDecision, type GrantRequest, parseGrant } from "../../src/policy/grants.ts";
import { laptop } from "./_helpers.ts";

const CAP = "example.com/cap/cmesh";
const fixtures = JSON.parse(
  await Deno.readTextFile(new URL("../testdata/policy/grant_values.json", import.meta.url)),
) as {
  valid: { value: unknown; parsed: unknown }[];
  invalid: { value: unknown; problem: string }[];
};

Deno.test("parseGrant: valid values (testdata)", () => {
  assert.ok(fixtures.valid.length >= 5);
  for (const { value, parsed } of fixtures.valid) {
    assert.deepEqual(parseGrant({ [CAP]: [value] }, CAP), { status: "ok", values: [parsed] });
  }
});

Deno.test("parseGrant: each invalid value invalidates the whole grant (testdata)", () => {
  assert.ok(fixtures.invalid.length >= 10);
  const good = { profiles: ["query"], cwd: ["/**"] };
  for (const { value, problem } of fixtures.invalid) {
    const r = parseGrant({ [CAP]: [good, value] }, CAP);
    assert.equal(r.status, "invalid", JSON.stringify(value));
    if (r.status === "invalid") {
      assert.equal(r.problems.length, 1);
      assert.ok(r.problems[0].startsWith(`value 1: ${problem}`), r.problems[0]);
    }
  }
});

Deno.test("parseGrant: absence and shape of the entry", () => {
  assert.deepEqual(parseGrant({}, CAP), { status: "absent" });
  assert.deepEqual(parseGrant(null, CAP), { status: "absent" });
  assert.deepEqual(parseGrant(undefined, CAP), { status: "absent" });
  assert.deepEqual(parseGrant({ [CAP]: [] }, CAP), { status: "absent" });
  assert.deepEqual(parseGrant({ "example.com/cap/other": [{}] }, CAP), { status: "absent" });
  assert.deepEqual(parseGrant({ [CAP]: { profiles: ["query"] } }, CAP), {
    status: "invalid",
    problems: ["the capability is not a list"],
  });
  // Prototype names are not capabilities.
  assert.deepEqual(parseGrant({}, "constructor"), { status: "absent" });
});

function decide(values: unknown[] | undefined, request: Partial<GrantRequest> = {}) {
  return grantDecision({
    capability: CAP,
    caller: laptop({ capMap: values === undefined ? {} : { [CAP]: values } }),
    request: {
      profile: "query",
      cwdReal: "/srv/repos/app",
      runner: "claude",
      caseInsensitive: false,
      ...request,
    },
  });
}

Deno.test("grantDecision: table", async (t) => {
  const cases: {
    name: string;
    values: unknown[] | undefined;
    request?: Partial<GrantRequest>;
    rule: string;
    reason?: RegExp;
  }[] = [
    {
      name: "one value allows everything",
      values: [{ profiles: ["query"], cwd: ["/srv/repos/*"], runners: ["claude"] }],
      rule: "grant.value[0]",
    },
    {
      name: "runners omitted = any runner",
      values: [{ profiles: ["query"], cwd: ["/srv/**"] }],
      request: { runner: "codex" },
      rule: "grant.value[0]",
    },
    {
      name: "runners [] = no runner",
      values: [{ profiles: ["query"], cwd: ["/srv/**"], runners: [] }],
      rule: "grant.runner",
      reason: /but not runner claude; that value allows runners: \(none\)/,
    },
    {
      name: "profiles omitted = nothing",
      values: [{ cwd: ["/**"] }],
      rule: "grant.profile",
      reason: /does not allow laptop profile query; granted profiles: \(none\)/,
    },
    {
      name: "cwd omitted = nothing",
      values: [{ profiles: ["query"] }],
      rule: "grant.cwd",
      reason: /that value allows cwd: \(none\)/,
    },
    {
      name: "missing",
      values: undefined,
      rule: "grant.missing",
      reason:
        /the tailnet policy grants laptop no example\.com\/cap\/cmesh capability on this node/,
    },
    {
      name: "invalid beside a valid one fails closed",
      values: [{ profiles: ["query"], cwd: ["/**"] }, { profiles: ["query"], extra: 1 }],
      rule: "grant.invalid",
      reason: /value 1: unknown field "extra"/,
    },
    {
      name: "profile not granted by any value",
      values: [{ profiles: ["docs"], cwd: ["/**"] }, { profiles: ["review"], cwd: ["/**"] }],
      rule: "grant.profile",
      reason: /granted profiles: docs, review/,
    },
    {
      name: "cwd * is one segment",
      values: [{ profiles: ["query"], cwd: ["/srv/*"] }],
      rule: "grant.cwd",
    },
    {
      name: "second value allows",
      values: [{ profiles: ["query"], cwd: ["/home/**"] }, {
        profiles: ["query"],
        cwd: ["/srv/repos/app"],
      }],
      rule: "grant.value[1]",
    },
    {
      name: "one value must allow all: profile from one, cwd from another",
      values: [
        { profiles: ["edit"], cwd: ["/home/**"] },
        { profiles: ["query"], cwd: ["/srv/**"] },
      ],
      request: { profile: "edit" },
      rule: "grant.cwd",
      reason: /value 0 allows laptop profile edit but not cwd \/srv\/repos\/app/,
    },
    {
      name: "one value must allow all: runner from another value",
      values: [
        { profiles: ["query"], cwd: ["/srv/**"], runners: ["codex"] },
        { profiles: ["query"], cwd: ["/home/**"], runners: ["claude"] },
      ],
      rule: "grant.runner",
      reason: /value 0 .* but not runner claude; that value allows runners: codex/,
    },
    {
      name: "ties report the first value",
      values: [
        { profiles: ["query"], cwd: ["/home/**"] },
        { profiles: ["query"], cwd: ["/opt/**"] },
      ],
      rule: "grant.cwd",
      reason: /value 0 allows .*that value allows cwd: \/home\/\*\*/,
    },
    {
      name: "case folding off",
      values: [{ profiles: ["query"], cwd: ["/SRV/**"] }],
      rule: "grant.cwd",
    },
    {
      name: "case folding on",
      values: [{ profiles: ["query"], cwd: ["/SRV/**"] }],
      request: { caseInsensitive: true },
      rule: "grant.value[0]",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const d = decide(c.values, c.request);
      assert.equal(d.rule, c.rule, d.reason);
      assert.equal(d.allow, c.rule.startsWith("grant.value"));
      if (c.reason) assert.match(d.reason, c.reason);
      if (!d.allow) assert.ok(d.hint, "every grant denial says what to ask for");
    });
  }
});

Deno.test("grantDecision: missing grant hint shows a grant to add", () => {
  const d = decide(undefined);
  assert.equal(d.allow, false);
  if (!d.allow) {
    assert.match(d.hint ?? "", /ask your tailnet admin to add a grant/);
    assert.match(d.hint ?? "", /"example\.com\/cap\/cmesh":\[\{"profiles":\["query"\]/);
  }
});
