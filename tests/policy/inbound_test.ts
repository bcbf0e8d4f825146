import assert from "node:assert/strict";
import { inboundDecision, type InboundInput } from "../../src/policy/inbound.ts";
import { ciNode, config, inboundInput, laptop } from "./_helpers.ts";

interface Case {
  name: string;
  input: InboundInput;
  allow: boolean;
  rule: string;
  reason?: RegExp;
}

const cmeshCap = "example.com/cap/cmesh";

const cases: Case[] = [
  // --- the happy path and the order of global checks
  {
    name: "laptop, query, claude, inside root",
    input: inboundInput(),
    allow: true,
    rule: "inbound.allow[0]",
    reason:
      /laptop \(matched by peer laptop\) may run profile query with runner claude in \/srv\/app/,
  },
  {
    name: "inbound disabled",
    input: inboundInput({ config: config({ inbound: { enabled: false } }) }),
    allow: false,
    rule: "inbound.disabled",
    reason: /disabled on this node/,
  },
  {
    name: "disabled wins over everything else",
    input: inboundInput({
      config: config({ inbound: { enabled: false } }),
      caller: laptop({ node: "stranger", dnsName: "stranger.ts.net." }),
      request: { promptBytes: 10_000_000 },
    }),
    allow: false,
    rule: "inbound.disabled",
  },
  {
    name: "prompt too big",
    input: inboundInput({ request: { promptBytes: 64 * 1024 + 1 } }),
    allow: false,
    rule: "limits.prompt_size",
    reason: /65537 bytes; this node accepts at most 65536 bytes/,
  },
  {
    name: "prompt exactly at the limit",
    input: inboundInput({ request: { promptBytes: 64 * 1024 } }),
    allow: true,
    rule: "inbound.allow[0]",
  },
  {
    name: "prompt size checked before caller matching",
    input: inboundInput({
      caller: laptop({ node: "stranger", dnsName: "s.ts.net." }),
      request: { promptBytes: 1e7 },
    }),
    allow: false,
    rule: "limits.prompt_size",
  },
  // --- caller matching
  {
    name: "unknown node",
    input: inboundInput({
      caller: laptop({ node: "stranger", dnsName: "stranger.tail4c2e1.ts.net.", login: "eve@x" }),
    }),
    allow: false,
    rule: "inbound.no_matching_rule",
    reason: /node stranger, DNS name stranger\.tail4c2e1\.ts\.net, no tags, login eve@x/,
  },
  {
    name: "node name is exact (case matters for short names)",
    input: inboundInput({ caller: laptop({ node: "Laptop", dnsName: "x.ts.net." }) }),
    allow: false,
    rule: "inbound.no_matching_rule",
  },
  {
    name: "matched by MagicDNS name, case-insensitive, trailing dot ignored",
    input: inboundInput({
      config: config({
        inbound: { allow: [{ peers: ["LAPTOP.tail4c2e1.ts.net"], cwd: ["/srv/app"] }] },
      }),
      caller: laptop({ node: "other" }),
    }),
    allow: true,
    rule: "inbound.allow[0]",
    reason: /matched by peer LAPTOP\.tail4c2e1\.ts\.net/,
  },
  {
    name: "DNS name must match whole, not as a suffix",
    input: inboundInput({
      config: config({ inbound: { allow: [{ peers: ["tail4c2e1.ts.net"], cwd: ["/srv/app"] }] } }),
    }),
    allow: false,
    rule: "inbound.no_matching_rule",
  },
  {
    name: "matched by tag",
    input: inboundInput({
      config: config({ inbound: { allow: [{ tags: ["tag:ci"], cwd: ["/srv/app"] }] } }),
      caller: ciNode(),
    }),
    allow: true,
    rule: "inbound.allow[0]",
    reason: /matched by tag:ci/,
  },
  {
    name: "tag not carried",
    input: inboundInput({
      config: config({ inbound: { allow: [{ tags: ["tag:prod"], cwd: ["/srv/app"] }] } }),
      caller: ciNode(),
    }),
    allow: false,
    rule: "inbound.no_matching_rule",
    reason: /tags tag:ci, no login \(tagged node\)/,
  },
  {
    name: "matched by login",
    input: inboundInput({
      config: config({ inbound: { allow: [{ logins: ["ann@example.com"], cwd: ["/srv/app"] }] } }),
      caller: laptop({ node: "other-laptop" }),
    }),
    allow: true,
    rule: "inbound.allow[0]",
    reason: /matched by login ann@example\.com/,
  },
  {
    name: "login is exact",
    input: inboundInput({
      config: config({ inbound: { allow: [{ logins: ["Ann@example.com"], cwd: ["/srv/app"] }] } }),
    }),
    allow: false,
    rule: "inbound.no_matching_rule",
  },
  {
    name: "tagged node never matches a login rule, even if a login leaks through",
    input: inboundInput({
      config: config({ inbound: { allow: [{ logins: ["ann@example.com"], cwd: ["/srv/app"] }] } }),
      caller: ciNode({ login: "ann@example.com" }),
    }),
    allow: false,
    rule: "inbound.no_matching_rule",
  },
  {
    name: "tagged-devices placeholder login never matches",
    input: inboundInput({
      config: config({ inbound: { allow: [{ logins: ["tagged-devices"], cwd: ["/srv/app"] }] } }),
      caller: ciNode({ login: "tagged-devices" }),
    }),
    allow: false,
    rule: "inbound.no_matching_rule",
  },
  {
    name: "a rule with no selectors matches nobody",
    input: inboundInput({ config: config({ inbound: { allow: [{ cwd: ["/srv/app"] }] } }) }),
    allow: false,
    rule: "inbound.no_matching_rule",
  },
  {
    name: "no rules at all",
    input: inboundInput({ config: config({ inbound: { allow: [] } }) }),
    allow: false,
    rule: "inbound.no_matching_rule",
  },
  // --- profiles
  {
    name: "profile disabled globally (default edit)",
    input: inboundInput({
      config: config({
        inbound: { allow: [{ peers: ["laptop"], profiles: ["query", "edit"], cwd: ["/srv/app"] }] },
      }),
      request: { profile: "edit" },
    }),
    allow: false,
    rule: "profile.disabled",
    reason: /profile edit is disabled on this node; enabled profiles: query/,
  },
  {
    name: "profile unknown",
    input: inboundInput({ request: { profile: "sudo" } }),
    allow: false,
    rule: "profile.unknown",
    reason: /profile sudo is not defined/,
  },
  {
    name: "prototype keys are not profiles",
    input: inboundInput({ request: { profile: "constructor" } }),
    allow: false,
    rule: "profile.unknown",
  },
  {
    name: "full is denied while disabled even if the rule lists it",
    input: inboundInput({
      config: config({
        inbound: { allow: [{ peers: ["laptop"], profiles: ["full"], cwd: ["/srv/app"] }] },
      }),
      request: { profile: "full" },
    }),
    allow: false,
    rule: "profile.disabled",
    reason: /profile full is disabled/,
  },
  {
    name: "full enabled but the rule does not list it",
    input: inboundInput({
      config: config({ profiles: { full: { enabled: true } } }),
      request: { profile: "full" },
    }),
    allow: false,
    rule: "inbound.allow[0].profile",
    reason:
      /profile full is not allowed for laptop by inbound\.allow\[0\].*allowed profiles: query/,
  },
  {
    name: "full enabled and listed",
    input: inboundInput({
      config: config({
        profiles: { full: { enabled: true } },
        inbound: { allow: [{ peers: ["laptop"], profiles: ["full"], cwd: ["/srv/app"] }] },
      }),
      request: { profile: "full" },
    }),
    allow: true,
    rule: "inbound.allow[0]",
  },
  {
    name: "enabled profile not in rule",
    input: inboundInput({
      config: config({ profiles: { edit: { enabled: true } } }),
      request: { profile: "edit" },
    }),
    allow: false,
    rule: "inbound.allow[0].profile",
    reason: /allowed profiles: query/,
  },
  // --- runners
  {
    name: "unknown runner",
    input: inboundInput({ request: { runner: "aider" } }),
    allow: false,
    rule: "inbound.allow[0].runner",
    reason: /runner aider is not allowed .*allowed runners: claude, codex/,
  },
  {
    name: "runner allowed but not available here",
    input: inboundInput({ request: { runner: "codex" }, runnersAvailable: ["claude"] }),
    allow: false,
    rule: "runner.unavailable",
    reason: /runner codex is not installed or not enabled on this node; available runners: claude/,
  },
  {
    name: "runner available but the rule restricts it",
    input: inboundInput({
      config: config({
        inbound: { allow: [{ peers: ["laptop"], runners: ["claude"], cwd: ["/srv/app"] }] },
      }),
      request: { runner: "codex" },
    }),
    allow: false,
    rule: "inbound.allow[0].runner",
    reason: /allowed runners: claude/,
  },
  {
    name: "no runner available at all",
    input: inboundInput({ runnersAvailable: [] }),
    allow: false,
    rule: "runner.unavailable",
    reason: /available runners: \(none\)/,
  },
  // --- cwd
  {
    name: "cwd outside the roots",
    input: inboundInput({ request: { cwdReal: "/etc", cwdRequested: "/etc" } }),
    allow: false,
    rule: "inbound.allow[0].cwd",
    reason: /cwd \/etc is outside the allowed roots for laptop: \/srv\/app, \/home\/ann\/src/,
  },
  {
    name: "cwd deep inside a root",
    input: inboundInput({ request: { cwdReal: "/home/ann/src/proj/pkg" } }),
    allow: true,
    rule: "inbound.allow[0]",
  },
  {
    name: "prefix trick /srv/app2",
    input: inboundInput({ request: { cwdReal: "/srv/app2" } }),
    allow: false,
    rule: "inbound.allow[0].cwd",
    reason: /cwd \/srv\/app2 is outside/,
  },
  {
    name: "prefix trick /srv/app-evil",
    input: inboundInput({ request: { cwdReal: "/srv/app-evil" } }),
    allow: false,
    rule: "inbound.allow[0].cwd",
  },
  {
    name: "parent of a root",
    input: inboundInput({ request: { cwdReal: "/srv" } }),
    allow: false,
    rule: "inbound.allow[0].cwd",
  },
  {
    name: "trailing slash on the cwd",
    input: inboundInput({ request: { cwdReal: "/srv/app/", cwdRequested: "/srv/app/" } }),
    allow: true,
    rule: "inbound.allow[0]",
  },
  {
    name: "trailing slash on the root",
    input: inboundInput({
      config: config({ inbound: { allow: [{ peers: ["laptop"], cwd: ["/srv/app/"] }] } }),
      request: { cwdReal: "/srv/app/x" },
    }),
    allow: true,
    rule: "inbound.allow[0]",
  },
  {
    name: "a symlink that resolved outside is reported with both paths",
    input: inboundInput({ request: { cwdRequested: "/srv/app/link", cwdReal: "/etc" } }),
    allow: false,
    rule: "inbound.allow[0].cwd",
    reason: /cwd \/srv\/app\/link \(resolves to \/etc\) is outside/,
  },
  {
    name: "'..' left in the resolved cwd",
    input: inboundInput({ request: { cwdReal: "/srv/app/../../etc" } }),
    allow: false,
    rule: "cwd.invalid",
    reason: /contains a "\.\." segment/,
  },
  {
    name: "'.' left in the resolved cwd",
    input: inboundInput({ request: { cwdReal: "/srv/app/./x" } }),
    allow: false,
    rule: "cwd.invalid",
    reason: /contains a "\." segment/,
  },
  {
    name: "relative cwd",
    input: inboundInput({ request: { cwdReal: "srv/app" } }),
    allow: false,
    rule: "cwd.invalid",
    reason: /not an absolute path/,
  },
  {
    name: "non-existent cwd",
    input: inboundInput({
      request: { cwdReal: null, cwdRequested: "/srv/app/nope", cwdProblem: "does not exist" },
    }),
    allow: false,
    rule: "cwd.not_found",
    reason: /cwd \/srv\/app\/nope does not exist on this node/,
  },
  {
    name: "non-existent cwd without a problem text",
    input: inboundInput({ request: { cwdReal: null, cwdRequested: "/srv/app/x" } }),
    allow: false,
    rule: "cwd.not_found",
    reason: /cwd \/srv\/app\/x does not exist or is not a directory/,
  },
  {
    name: "no existence oracle: a missing path outside the roots is just 'outside'",
    input: inboundInput({
      request: { cwdReal: null, cwdRequested: "/etc/nope", cwdProblem: "does not exist" },
    }),
    allow: false,
    rule: "inbound.allow[0].cwd",
    reason:
      /^cwd \/etc\/nope is outside the allowed roots for laptop: \/srv\/app, \/home\/ann\/src /,
  },
  {
    name: "no existence oracle: '..' climbing out of a root lexically",
    input: inboundInput({
      request: { cwdReal: null, cwdRequested: "/srv/app/../../etc/nope" },
    }),
    allow: false,
    rule: "inbound.allow[0].cwd",
  },
  {
    name: "missing path whose '..' stays inside a root is reported as missing",
    input: inboundInput({ request: { cwdReal: null, cwdRequested: "/srv/app/a/../nope" } }),
    allow: false,
    rule: "cwd.not_found",
  },
  {
    name: "missing path under the configured spelling of a symlinked root",
    input: inboundInput({
      rootsReal: [["/data/app", null]],
      request: { cwdReal: null, cwdRequested: "/srv/app/nope" },
    }),
    allow: false,
    rule: "cwd.not_found",
  },
  {
    name: "no realpath leak for a path requested outside the roots",
    input: inboundInput({ request: { cwdRequested: "/opt/link", cwdReal: "/secret/target" } }),
    allow: false,
    rule: "inbound.allow[0].cwd",
    reason: /^cwd \/opt\/link is outside/,
  },
  {
    name: "case differs on a case-sensitive fs",
    input: inboundInput({ request: { cwdReal: "/SRV/App" }, caseInsensitive: false }),
    allow: false,
    rule: "inbound.allow[0].cwd",
  },
  {
    name: "case differs on a case-insensitive fs",
    input: inboundInput({ request: { cwdReal: "/SRV/App" }, caseInsensitive: true }),
    allow: true,
    rule: "inbound.allow[0]",
  },
  {
    name: "case folding does not defeat the prefix check",
    input: inboundInput({ request: { cwdReal: "/SRV/App2" }, caseInsensitive: true }),
    allow: false,
    rule: "inbound.allow[0].cwd",
  },
  {
    name: "all roots missing on this node (empty roots)",
    input: inboundInput({ rootsReal: [[null, null]] }),
    allow: false,
    rule: "inbound.allow[0].cwd",
    reason:
      /allowed roots for laptop: \(none\); configured roots missing on this node: \/srv\/app, \/home\/ann\/src/,
  },
  {
    name: "one root missing, cwd in the other",
    input: inboundInput({
      rootsReal: [[null, "/home/ann/src"]],
      request: { cwdReal: "/home/ann/src/x" },
    }),
    allow: true,
    rule: "inbound.allow[0]",
  },
  {
    name: "rootsReal row absent (shape mismatch) fails closed",
    input: inboundInput({ rootsReal: [] }),
    allow: false,
    rule: "inbound.allow[0].cwd",
  },
  {
    name: "root realpath is what counts (configured root is a symlink)",
    input: inboundInput({ rootsReal: [["/data/app", null]], request: { cwdReal: "/data/app/x" } }),
    allow: true,
    rule: "inbound.allow[0]",
  },
  {
    name: "a non-canonical resolved root allows nothing",
    input: inboundInput({ rootsReal: [["/srv/app/..", null]], request: { cwdReal: "/srv" } }),
    allow: false,
    rule: "inbound.allow[0].cwd",
  },
  // --- timeout
  {
    name: "timeout too long",
    input: inboundInput({ request: { timeoutS: 7201 } }),
    allow: false,
    rule: "limits.timeout",
    reason: /timeout of 7201s was asked for; this node allows at most 7200s/,
  },
  {
    name: "timeout at the max",
    input: inboundInput({ request: { timeoutS: 7200 } }),
    allow: true,
    rule: "inbound.allow[0]",
  },
];

Deno.test("inboundDecision: table", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      const d = inboundDecision(c.input);
      assert.equal(d.allow, c.allow, `${c.name}: ${d.rule}: ${d.reason}`);
      assert.equal(d.rule, c.rule, d.reason);
      if (c.reason) assert.match(d.reason, c.reason);
      assert.ok(d.reason.length > 10);
    });
  }
});

Deno.test("inboundDecision: multiple rules never combine", async (t) => {
  // Rule 0: edit in /srv/a only. Rule 1: query in /srv/b only. edit in /srv/b must be denied.
  const cfg = config({
    profiles: { edit: { enabled: true } },
    inbound: {
      allow: [
        { peers: ["laptop"], profiles: ["edit"], cwd: ["/srv/a"], runners: ["claude"] },
        { logins: ["ann@example.com"], profiles: ["query"], cwd: ["/srv/b"], runners: ["codex"] },
      ],
    },
  });
  const table: [string, Partial<{ profile: string; cwdReal: string; runner: string }>, string][] = [
    [
      "edit in a via rule 0",
      { profile: "edit", cwdReal: "/srv/a", runner: "claude" },
      "inbound.allow[0]",
    ],
    [
      "query in b via rule 1",
      { profile: "query", cwdReal: "/srv/b", runner: "codex" },
      "inbound.allow[1]",
    ],
    ["edit in b: denied, closest is rule 0 (cwd)", {
      profile: "edit",
      cwdReal: "/srv/b",
      runner: "claude",
    }, "inbound.allow[0].cwd"],
    ["query in b with claude: closest is rule 1 (runner)", {
      profile: "query",
      cwdReal: "/srv/b",
      runner: "claude",
    }, "inbound.allow[1].runner"],
    ["query in a with codex: closest is rule 1 (cwd)", {
      profile: "query",
      cwdReal: "/srv/a",
      runner: "codex",
    }, "inbound.allow[1].cwd"],
  ];
  for (const [name, request, rule] of table) {
    await t.step(name, () => {
      const d = inboundDecision(inboundInput({ config: cfg, request }));
      assert.equal(d.rule, rule, d.reason);
      assert.equal(d.allow, !rule.includes("]."), d.reason);
      if (!d.allow) assert.match(d.reason, /2 rules match laptop; none allows the whole request/);
    });
  }
});

Deno.test("inboundDecision: ties go to the lowest index", () => {
  const cfg = config({
    inbound: {
      allow: [
        { peers: ["laptop"], cwd: ["/srv/a"] },
        { tags: ["tag:x"], logins: ["ann@example.com"], cwd: ["/srv/b"] },
      ],
    },
  });
  const d = inboundDecision(inboundInput({ config: cfg, request: { cwdReal: "/etc" } }));
  assert.equal(d.rule, "inbound.allow[0].cwd");
  assert.match(d.reason, /allowed roots for laptop: \/srv\/a /);
});

Deno.test("inboundDecision: an allow carries the matched rule, limits and timeout", () => {
  const cfg = config({
    inbound: {
      default_timeout_s: 600,
      allow: [
        { peers: ["nobody"], cwd: ["/"] },
        { peers: ["laptop"], cwd: ["/srv/app"], max_concurrent: 1, max_queue: 3 },
      ],
    },
  });
  const d = inboundDecision(inboundInput({ config: cfg }));
  assert.ok(d.allow);
  assert.deepEqual(d.matched, {
    ruleIndex: 1,
    by: "peer laptop",
    limits: { maxConcurrent: 1, maxQueue: 3 },
    timeoutS: 600,
  });
  const d2 = inboundDecision(inboundInput({ config: cfg, request: { timeoutS: 42 } }));
  assert.ok(d2.allow);
  assert.equal(d2.matched.timeoutS, 42);
  const d3 = inboundDecision(inboundInput({ config: config({}) }));
  assert.ok(d3.allow);
  assert.deepEqual(d3.matched.limits, {});
});

Deno.test("inboundDecision: denials carry hints where the fix is known", () => {
  for (
    const input of [
      inboundInput({ config: config({ inbound: { enabled: false } }) }),
      inboundInput({ request: { cwdReal: "/etc" } }),
      inboundInput({ request: { profile: "edit" } }),
    ]
  ) {
    const d = inboundDecision(input);
    assert.equal(d.allow, false);
    if (!d.allow) assert.ok(d.hint && d.hint.length > 10, d.rule);
  }
});

Deno.test("inboundDecision: grants (app_capability set)", async (t) => {
  const cfg = config({
    tailscale: { app_capability: cmeshCap },
    profiles: { edit: { enabled: true } },
    inbound: { allow: [{ peers: ["laptop"], profiles: ["query", "edit"], cwd: ["/srv/app"] }] },
  });
  const withCap = (values: unknown[]) => laptop({ capMap: { [cmeshCap]: values } });
  const table: {
    name: string;
    caller: ReturnType<typeof laptop>;
    request?: Partial<{ profile: string; cwdReal: string; runner: string }>;
    rule: string;
    reason?: RegExp;
  }[] = [
    {
      name: "grant present and allowing",
      caller: withCap([{ profiles: ["query"], cwd: ["/srv/**"] }]),
      rule: "inbound.allow[0]",
      reason: /grant\.value\[0\] of the tailnet grant example\.com\/cap\/cmesh/,
    },
    {
      name: "grant missing",
      caller: laptop(),
      rule: "grant.missing",
      reason:
        /the tailnet policy grants laptop no example\.com\/cap\/cmesh capability on this node/,
    },
    {
      name: "grant for another capability only",
      caller: laptop({
        capMap: { "example.com/cap/other": [{ profiles: ["query"], cwd: ["/**"] }] },
      }),
      rule: "grant.missing",
    },
    {
      name: "grant invalid",
      caller: withCap([{ profiles: "query", cwd: ["/**"] }]),
      rule: "grant.invalid",
      reason: /value 0: "profiles" must be a list/,
    },
    {
      name: "grant allows profile but not cwd",
      caller: withCap([{ profiles: ["query"], cwd: ["/home/**"] }]),
      rule: "grant.cwd",
      reason:
        /value 0 allows laptop profile query but not cwd \/srv\/app; that value allows cwd: \/home\/\*\*/,
    },
    {
      name: "two narrow grant values do not add up",
      caller: withCap([
        { profiles: ["edit"], cwd: ["/home/**"] },
        { profiles: ["query"], cwd: ["/srv/**"] },
      ]),
      request: { profile: "edit" },
      rule: "grant.cwd",
      reason: /value 0 allows laptop profile edit but not cwd \/srv\/app/,
    },
    {
      name: "local config denies even when the grant allows (both must allow)",
      caller: withCap([{ profiles: ["query"], cwd: ["/**"] }]),
      request: { cwdReal: "/etc" },
      rule: "inbound.allow[0].cwd",
    },
    {
      name: "grant cannot enable a locally disabled profile",
      caller: withCap([{ profiles: ["build"], cwd: ["/**"] }]),
      request: { profile: "build" },
      rule: "profile.disabled",
    },
  ];
  for (const c of table) {
    await t.step(c.name, () => {
      const d = inboundDecision(
        inboundInput({ config: cfg, caller: c.caller, request: c.request }),
      );
      assert.equal(d.rule, c.rule, d.reason);
      assert.equal(d.allow, c.rule === "inbound.allow[0]");
      if (c.reason) assert.match(d.reason, c.reason);
    });
  }
  await t.step("the grant value index is reported", () => {
    const d = inboundDecision(
      inboundInput({
        config: cfg,
        caller: withCap([{ profiles: ["edit"], cwd: ["/**"] }, {
          profiles: ["query"],
          cwd: ["/srv/*"],
        }]),
      }),
    );
    assert.ok(d.allow);
    assert.equal(d.matched.grantValueIndex, 1);
  });
  await t.step("grant cwd uses case folding only when caseInsensitive", () => {
    const caller = withCap([{ profiles: ["query"], cwd: ["/srv/app/**"] }]);
    const folded = inboundInput({
      config: cfg,
      caller,
      request: { cwdReal: "/SRV/APP/x" },
      caseInsensitive: true,
    });
    assert.equal(inboundDecision(folded).allow, true);
  });
});
