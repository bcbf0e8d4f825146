/** Which config changes need the human (widen inbound access), which MCP may apply alone. */
import assert from "node:assert/strict";
import { Config } from "../../src/config/schema.ts";
import { wideningChanges } from "../../src/setup/widening.ts";

type Raw = Record<string, unknown>;
const cfg = (raw: Raw = {}) => Config.parse(raw);
const rule = (over: Raw = {}) => ({
  peers: ["laptop"],
  profiles: ["query", "edit"],
  cwd: ["/srv/app"],
  runners: ["claude"],
  ...over,
});
const withRule = (over: Raw = {}, inbound: Raw = {}) =>
  cfg({ inbound: { enabled: true, allow: [rule(over)], ...inbound } });
const widens = (before: Config, after: Config) => wideningChanges(before, after);

Deno.test("the exploit: allow a new peer everything in / with the full profile", () => {
  const after = cfg({
    inbound: {
      enabled: true,
      allow: [{ peers: ["x"], cwd: ["/"], profiles: ["full"], runners: ["claude", "codex"] }],
    },
    profiles: { full: { enabled: true } },
  });
  const w = widens(cfg(), after);
  assert.ok(w.includes("turn inbound tasks on (inbound.enabled = true)"), w.join("\n"));
  assert.ok(w.includes("inbound.allow[0] gives peer x access it had no rule for"), w.join("\n"));
  assert.ok(w.includes("enable the full profile (profiles.full.enabled = true)"), w.join("\n"));
});

Deno.test("nothing changed, or only outbound settings and the node name: nothing widens", () => {
  const base = withRule();
  assert.deepEqual(widens(base, withRule()), []);
  assert.deepEqual(widens(cfg(), cfg()), []);
  const outbound = cfg({
    node: { name: "renamed" },
    inbound: { enabled: true, allow: [rule()] },
    outbound: {
      default_timeout_s: 60,
      peers: [{ name: "buildbox", profiles: ["query", "edit"], cwd: ["/**"], stable_id: "nA" }],
    },
    daemon: { log_level: "debug", control_port: 9000, worker_port: 9001 },
  });
  assert.deepEqual(widens(base, outbound), []);
});

Deno.test("inbound switch and limits: on and raised widen, off and lowered do not", () => {
  assert.deepEqual(widens(cfg({ inbound: { enabled: true } }), cfg()), []);
  assert.deepEqual(widens(cfg(), cfg({ inbound: { enabled: true } })), [
    "turn inbound tasks on (inbound.enabled = true)",
  ]);
  const limits = {
    max_concurrent: 4,
    max_queue: 10,
    max_prompt_bytes: 1000,
    default_timeout_s: 100,
    max_timeout_s: 200,
    max_output_bytes: 5000,
  };
  for (const [k, v] of Object.entries(limits)) {
    const before = cfg({ inbound: limits });
    assert.deepEqual(widens(before, cfg({ inbound: { ...limits, [k]: v - 1 } })), [], k);
    assert.deepEqual(widens(before, cfg({ inbound: { ...limits, [k]: v + 1 } })), [
      `raise inbound.${k} from ${v} to ${v + 1}`,
    ]);
  }
});

Deno.test("inbound rules: each new grant widens, each narrowing does not", () => {
  const before = withRule({ max_concurrent: 2, max_queue: 4 });
  const widened: [Raw, RegExp][] = [
    [{ peers: ["laptop", "phone"] }, /gives peer phone access it had no rule for/],
    [{ tags: ["tag:ci"] }, /gives tag:ci access/],
    [{ logins: ["eve@example.com"] }, /gives login eve@example\.com access/],
    [{ profiles: ["query", "edit", "build"] }, /gives peer laptop profiles build/],
    [{ runners: ["claude", "codex"] }, /gives peer laptop runners codex/],
    [{ cwd: ["/srv"] }, /gives peer laptop cwd roots \/srv$/],
    [{ cwd: ["/srv/app-evil"] }, /cwd roots \/srv\/app-evil/],
    [{ cwd: ["/"] }, /cwd roots \/$/],
    [{ cwd: ["/srv/app", "/home"] }, /cwd roots \/home/],
    [{ max_concurrent: 3 }, /max_concurrent 3 \(was 2\)/],
    [{ max_concurrent: undefined }, /max_concurrent unset \(was 2\)/],
    [{ max_queue: 5 }, /max_queue 5 \(was 4\)/],
  ];
  for (const [over, re] of widened) {
    const w = widens(before, withRule({ max_concurrent: 2, max_queue: 4, ...over }));
    assert.equal(w.length, 1, `${JSON.stringify(over)}: ${w}`);
    assert.match(w[0], re);
  }
  const narrowed: Raw[] = [
    { profiles: ["query"] },
    { runners: ["claude"] },
    { cwd: ["/srv/app/sub"] },
    { cwd: ["/srv/app/a", "/srv/app/b"] },
    { max_concurrent: 1 },
    { max_queue: 0 },
    { peers: ["LAPTOP."] }, // the same selector, normalised like DNS
  ];
  for (const over of narrowed) {
    assert.deepEqual(
      widens(before, withRule({ max_concurrent: 2, max_queue: 4, ...over })),
      [],
      JSON.stringify(over),
    );
  }
  // Removing rules, reordering them, or splitting one rule per peer grants nothing new.
  const two = cfg({
    inbound: {
      enabled: true,
      allow: [rule({ peers: ["a", "b"] }), rule({ peers: ["c"], profiles: ["query"] })],
    },
  });
  assert.deepEqual(widens(two, cfg({ inbound: { enabled: true } })), []);
  assert.deepEqual(
    widens(
      two,
      cfg({ inbound: { enabled: true, allow: [two.inbound.allow[1], two.inbound.allow[0]] } }),
    ),
    [],
  );
  assert.deepEqual(
    widens(
      two,
      cfg({ inbound: { enabled: true, allow: [rule({ peers: ["b"] }), rule({ peers: ["a"] })] } }),
    ),
    [],
  );
  // A grant must come from one rule: c's old rule cannot lend it a's profiles.
  assert.match(
    widens(two, cfg({ inbound: { enabled: true, allow: [rule({ peers: ["c"] })] } })).join(),
    /gives peer c profiles edit/,
  );
  // Rules count even while inbound is off: they apply the day it is turned on.
  assert.match(
    widens(cfg(), cfg({ inbound: { enabled: false, allow: [rule()] } })).join(),
    /gives peer laptop access it had no rule for/,
  );
});

Deno.test("a root inside an old root that resolves elsewhere (symlink) widens", () => {
  const before = withRule({ cwd: ["/srv"] });
  const after = withRule({ cwd: ["/srv/link"] });
  assert.deepEqual(widens(before, after), [], "lexically inside");
  const real = (p: string) => (p === "/srv/link" ? "/" : p);
  assert.match(wideningChanges(before, after, real).join(), /cwd roots \/srv\/link/);
  const missing = (p: string) => (p === "/srv/link" ? null : p);
  assert.match(wideningChanges(before, after, missing).join(), /cwd roots \/srv\/link/);
  assert.deepEqual(wideningChanges(before, after, (p) => p), []);
});

Deno.test("profiles and runners: enabling, new programs, passed env widen; disabling does not", () => {
  assert.deepEqual(widens(cfg(), cfg({ profiles: { edit: { enabled: true } } })), [
    "enable the edit profile (profiles.edit.enabled = true)",
  ]);
  assert.deepEqual(
    widens(
      cfg({ profiles: { build: { enabled: true } } }),
      cfg({ profiles: { build: { enabled: false } } }),
    ),
    [],
  );
  assert.deepEqual(
    widens(cfg(), cfg({ profiles: { review: { enabled: true, description: "x" } } })),
    ["enable the review profile (profiles.review.enabled = true)"],
  );
  const r = (over: Raw) => cfg({ runners: { claude: { ...over } } });
  assert.deepEqual(widens(cfg(), r({})), [], "an empty section is the default");
  assert.deepEqual(widens(r({ enabled: false }), r({ enabled: true })), ["runner claude: enabled"]);
  assert.deepEqual(widens(r({ enabled: true }), r({ enabled: false })), []);
  assert.deepEqual(widens(r({ enabled: false }), cfg()), ["runner claude: enabled"]);
  assert.deepEqual(widens(r({}), r({ binary: "/tmp/evil" })), ["runner claude: binary changed"]);
  assert.deepEqual(widens(r({ args: ["--x"] }), r({})), ["runner claude: args changed"]);
  assert.deepEqual(widens(r({}), r({ env_pass: ["AWS_SECRET"] })), [
    "runner claude: passes AWS_SECRET",
  ]);
  assert.deepEqual(widens(r({ env_pass: ["A", "B"] }), r({ env_pass: ["A"] })), []);
  assert.deepEqual(widens(r({}), r({ env: { X: "1" } })), ["runner claude: env changed"]);
  assert.deepEqual(widens(r({ binary: "/a" }), r({ binary: "/b", enabled: false })), []);
});

Deno.test("tailscale and daemon: identity source, grant check and sandbox changes widen", () => {
  const ts = (over: Raw) =>
    cfg({ tailscale: { app_capability: "example.com/cap/cmesh", ...over } });
  assert.deepEqual(widens(cfg(), ts({})), [], "adding the grant check narrows");
  assert.match(widens(ts({}), cfg()).join(), /drop the grant check/);
  assert.match(widens(ts({}), ts({ socket: "/tmp/fake.sock" })).join(), /tailscale\.socket/);
  assert.match(widens(ts({}), ts({ localapi_url: "http://127.0.0.1:1" })).join(), /localapi_url/);
  assert.match(widens(ts({}), ts({ userspace_networking: true })).join(), /userspace_networking/);
  assert.match(widens(ts({}), ts({ transport: "cli" })).join(), /tailscale\.transport/);
  assert.match(widens(ts({}), ts({ timeout_ms: 9000 })).join(), /raise tailscale\.timeout_ms/);
  assert.deepEqual(widens(ts({}), ts({ timeout_ms: 1000 })), []);
  const d = (over: Raw) => cfg({ daemon: over });
  assert.match(widens(d({}), d({ state_dir: "/home/ann" })).join(), /move daemon\.state_dir/);
  assert.match(
    widens(d({}), d({ max_body_bytes: 1 << 20 })).join(),
    /raise daemon\.max_body_bytes/,
  );
  assert.deepEqual(widens(d({}), d({ max_body_bytes: 1024, log_level: "error" })), []);
});

Deno.test("re-pinning an outbound peer needs the human; pinning a new one does not", () => {
  const peer = (over: Raw) => cfg({ outbound: { peers: [{ name: "buildbox", ...over }] } });
  assert.deepEqual(widens(peer({}), peer({ stable_id: "nA" })), []);
  assert.deepEqual(widens(peer({ stable_id: "nA" }), peer({ stable_id: "nB" })), [
    "re-pin outbound peer buildbox (stable_id was nA)",
  ]);
  assert.deepEqual(widens(peer({ stable_id: "nA" }), peer({})), [
    "re-pin outbound peer buildbox (stable_id was nA)",
  ]);
});

Deno.test("a key this module does not know counts as widening (fail closed)", () => {
  const before = cfg();
  const after = structuredClone(before) as Raw;
  (after.inbound as Raw).sandbox = "off";
  after.future = { x: 1 };
  const w = wideningChanges(before, after as Config);
  assert.ok(w.some((s) => /inbound\.sandbox/.test(s)), w.join("\n"));
  assert.ok(w.some((s) => /change future/.test(s)), w.join("\n"));
});

Deno.test("the OS sandbox: turning it off widens, requiring it does not", () => {
  const sb = (mode?: string) => cfg(mode ? { sandbox: { mode } } : {});
  assert.deepEqual(widens(sb(), sb("off")), ["turn the OS sandbox off (sandbox.mode = off)"]);
  assert.deepEqual(widens(sb("required"), sb("off")), [
    "turn the OS sandbox off (sandbox.mode = off)",
  ]);
  assert.deepEqual(widens(sb("required"), sb()), [
    "turn the OS sandbox off (sandbox.mode = unset)",
  ]);
  assert.deepEqual(widens(sb("off"), sb("required")), []);
  assert.deepEqual(widens(sb(), sb("required")), []);
  assert.deepEqual(widens(sb("off"), sb()), []);
});
