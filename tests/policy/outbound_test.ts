import assert from "node:assert/strict";
import { Config } from "../../src/config/schema.ts";
import { outboundDecision, type OutboundInput } from "../../src/policy/outbound.ts";

const config = Config.parse({
  profiles: { review: { enabled: false } },
  outbound: {
    peers: [
      { name: "buildbox", profiles: ["query", "build"], cwd: ["/srv/**", "/home/ann/src/*"] },
      { name: "winbox.tail4c2e1.ts.net", address: "100.101.1.2", cwd: ["C:/src/**"] },
      { name: "mini", profiles: ["query", "review", "ghost"] },
    ],
  },
});

function decide(over: Partial<OutboundInput>) {
  return outboundDecision({
    outbound: config.outbound,
    profiles: config.profiles,
    peer: "buildbox",
    profile: "query",
    cwd: "/srv/app",
    ...over,
  });
}

Deno.test("outboundDecision: table", async (t) => {
  const cases: { name: string; over: Partial<OutboundInput>; rule: string; reason?: RegExp }[] = [
    {
      name: "allowed",
      over: {},
      rule: "outbound.peers[0]",
      reason: /send profile query tasks in \/srv\/app to peer buildbox/,
    },
    {
      name: "runner named in the reason",
      over: { runner: "codex" },
      rule: "outbound.peers[0]",
      reason: /with runner codex/,
    },
    {
      name: "unknown peer",
      over: { peer: "prod-db" },
      rule: "outbound.peer_unknown",
      reason:
        /peer prod-db is not in \[\[outbound\.peers\]\]; configured peers: buildbox, winbox\.tail4c2e1\.ts\.net, mini/,
    },
    {
      name: "peer by address",
      over: { peer: "100.101.1.2", cwd: "C:\\src\\app" },
      rule: "outbound.peers[1]",
    },
    {
      name: "peer by MagicDNS name, case and trailing dot ignored",
      over: { peer: "WinBox.tail4c2e1.ts.net.", cwd: "C:/src/x" },
      rule: "outbound.peers[1]",
    },
    {
      name: "short name is not a prefix match of a DNS name",
      over: { peer: "winbox" },
      rule: "outbound.peer_unknown",
    },
    {
      name: "peer name is not a substring match",
      over: { peer: "build" },
      rule: "outbound.peer_unknown",
    },
    { name: "empty peer", over: { peer: "" }, rule: "outbound.peer_unknown" },
    {
      name: "profile not in the peer's list",
      over: { profile: "edit" },
      rule: "outbound.profile",
      reason:
        /profile edit is not allowed for peer buildbox \(outbound\.peers\[0\]\); allowed profiles: query, build/,
    },
    {
      name: "default profiles are query only",
      over: { peer: "100.101.1.2", profile: "build", cwd: "C:/src" },
      rule: "outbound.profile",
    },
    {
      name: "listed but unknown profile",
      over: { peer: "mini", profile: "ghost" },
      rule: "profile.unknown",
      reason: /profile ghost is not defined/,
    },
    {
      name: "listed, defined though locally disabled: fine",
      over: { peer: "mini", profile: "review" },
      rule: "outbound.peers[2]",
    },
    { name: "cwd ** any depth", over: { cwd: "/srv/a/b/c" }, rule: "outbound.peers[0]" },
    { name: "cwd * one segment", over: { cwd: "/home/ann/src/app" }, rule: "outbound.peers[0]" },
    {
      name: "cwd * is not two segments",
      over: { cwd: "/home/ann/src/app/sub" },
      rule: "outbound.cwd",
      reason: /allowed cwd patterns: \/srv\/\*\*, \/home\/ann\/src\/\*/,
    },
    {
      name: "cwd outside",
      over: { cwd: "/etc" },
      rule: "outbound.cwd",
      reason: /cwd \/etc is not allowed for peer buildbox/,
    },
    { name: "cwd prefix trick", over: { cwd: "/srv2/app" }, rule: "outbound.cwd" },
    {
      name: "relative cwd",
      over: { cwd: "srv/app" },
      rule: "cwd.invalid",
      reason: /not an absolute path/,
    },
    {
      name: "'..' in cwd",
      over: { cwd: "/srv/../etc" },
      rule: "cwd.invalid",
      reason: /"\.\." segment/,
    },
    { name: "'.' in cwd", over: { cwd: "/srv/./app" }, rule: "cwd.invalid" },
    { name: "case-sensitive", over: { cwd: "/SRV/app" }, rule: "outbound.cwd" },
    {
      name: "default cwd /** allows everything",
      over: { peer: "mini", cwd: "/" },
      rule: "outbound.peers[2]",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const d = decide(c.over);
      assert.equal(d.rule, c.rule, d.reason);
      assert.equal(d.allow, c.rule.startsWith("outbound.peers["));
      if (c.reason) assert.match(d.reason, c.reason);
    });
  }
});

Deno.test("outboundDecision: allow carries the peer entry; ambiguity is refused", () => {
  const d = decide({});
  assert.ok(d.allow);
  assert.equal(d.peerIndex, 0);
  assert.equal(d.peer.name, "buildbox");
  assert.equal(d.peer.port, 7433);

  const twins = Config.parse({
    outbound: { peers: [{ name: "Box.ts.net" }, { name: "box.ts.net." }] },
  });
  const exact = outboundDecision({
    outbound: twins.outbound,
    profiles: twins.profiles,
    peer: "box.ts.net.",
    profile: "query",
    cwd: "/x",
  });
  assert.equal(exact.rule, "outbound.peers[1]");
  const fuzzy = outboundDecision({
    outbound: twins.outbound,
    profiles: twins.profiles,
    peer: "BOX.ts.net",
    profile: "query",
    cwd: "/x",
  });
  assert.equal(fuzzy.rule, "outbound.peer_ambiguous");
});
