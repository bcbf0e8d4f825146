/** Which node a peer name means, and the whois check of the destination (issue 13 item 3). */
import assert from "node:assert/strict";
import { OutboundPeer } from "../../src/config/schema.ts";
import { PeerDirectory } from "../../src/delegation/peer_directory.ts";
import {
  type PinRef,
  resolvePeerTarget,
  tailnetCandidates,
  type WhoisSource,
} from "../../src/delegation/peer_resolve.ts";
import { identityFromWhois } from "../../src/tailscale/identity.ts";
import { statusFromWire, type TailnetStatus } from "../../src/tailscale/status.ts";
import { buildStatus, buildWhoisResponse, type NodeSpec } from "../support/localapi_fixtures.ts";
import { tempStore } from "../store/_helpers.ts";

const SUFFIX = "tail4c2e1.ts.net";
const self: NodeSpec = { name: "laptop", ips: ["100.64.0.2"], login: "a@example.com" };
const box: NodeSpec = { name: "buildbox", ips: ["100.64.0.3"], tags: ["tag:b"], stableId: "nBOX" };
const evil: NodeSpec = {
  name: "buildbox",
  ips: ["100.64.0.66"],
  login: "m@evil.example",
  dnsName: "buildbox.evil-corp.ts.net.",
  sharer: true,
  stableId: "nEVIL",
};

function statusOf(nodes: NodeSpec[]): TailnetStatus {
  const r = statusFromWire(buildStatus({ self, peers: nodes }));
  if (!r.ok) throw new Error(r.reason);
  return r.status;
}

/** whois answering from `nodes` by IP (like the double), recording what was asked. */
function whoisOf(nodes: NodeSpec[], asked: string[] = []): WhoisSource {
  return (ip) => {
    asked.push(ip);
    const n = nodes.find((x) => x.ips.includes(ip));
    if (!n) return Promise.resolve({ ok: false, reason: "404 no match" });
    const id = identityFromWhois(
      JSON.parse(
        JSON.stringify(buildWhoisResponse(n), (_k, v) => typeof v === "bigint" ? Number(v) : v),
      ),
    );
    return Promise.resolve(id.ok ? id : { ok: false, reason: id.reason });
  };
}

const peer = (over: Record<string, unknown> = {}) =>
  OutboundPeer.parse({ name: "buildbox", ...over });

async function resolve(
  nodes: NodeSpec[],
  opts: { peer?: Record<string, unknown>; pin?: PinRef | null; whoisNodes?: NodeSpec[] } = {},
) {
  const status = statusOf(nodes);
  return await resolvePeerTarget(peer(opts.peer), {
    status: () => Promise.resolve({ ok: true, status }),
    whois: whoisOf(opts.whoisNodes ?? nodes),
    pin: opts.pin ?? null,
  });
}

Deno.test("names match MagicDNS names only; shared-in and other tailnets never", () => {
  const hostOnly = statusOf([box]);
  hostOnly.peers[0].dnsName = "";
  assert.deepEqual(tailnetCandidates(hostOnly, "buildbox").eligible, [], "a self-chosen HostName");
  const st = statusOf([box, evil]);
  const c = tailnetCandidates(st, "buildbox");
  assert.deepEqual(c.eligible.map((p) => p.stableId), ["nBOX"]);
  assert.deepEqual(c.foreign.map((p) => p.stableId), ["nEVIL"]);
  assert.deepEqual(tailnetCandidates(st, `buildbox.${SUFFIX}.`).eligible.length, 1);
  assert.deepEqual(tailnetCandidates(st, "100.64.0.3").eligible.length, 1);
  const other = { ...evil, sharer: false }; // not marked shared, but outside the suffix
  assert.deepEqual(tailnetCandidates(statusOf([other]), "buildbox").foreign.length, 1);
});

Deno.test("the shared-in lookalike alone: refused, never resolved", async () => {
  const r = await resolve([evil]);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.rule, "outbound.peer_foreign");
  assert.match(!r.ok ? r.message : "", /buildbox\.evil-corp\.ts\.net \(node nEVIL/);
  // With both, the tailnet's own node is chosen.
  const both = await resolve([evil, box]);
  assert.ok(both.ok);
  assert.equal(both.target.address.host, "100.64.0.3");
  assert.equal(both.target.stableId, "nBOX");
  assert.equal(both.target.pin, "first_use");
});

Deno.test("an ambiguous name is refused with the candidates", async () => {
  const a = { ...box, dnsName: `buildbox.alice.${SUFFIX}.`, stableId: "nA" };
  const b = { ...box, ips: ["100.64.0.4"], dnsName: `buildbox.bob.${SUFFIX}.`, stableId: "nB" };
  const r = await resolve([a, b]);
  assert.equal(!r.ok && r.rule, "outbound.name_ambiguous");
  assert.match(!r.ok ? r.message : "", /matches 2 nodes.*node nA.*node nB/);
  // A pin settles it.
  const pinned = await resolve([a, b], { pin: { stableId: "nB", source: "user" } });
  assert.ok(pinned.ok);
  assert.equal(pinned.target.address.host, "100.64.0.4");
});

Deno.test("a pin: followed after a rename; a changed StableID is refused", async () => {
  const renamed = { ...box, name: "buildbox2" };
  const r = await resolve([renamed], { pin: { stableId: "nBOX", source: "first_contact" } });
  assert.ok(r.ok, "the pinned node under a new name");
  const changed = { ...box, stableId: "nNEW" };
  const m = await resolve([changed], { pin: { stableId: "nBOX", source: "first_contact" } });
  assert.equal(!m.ok && m.rule, "outbound.pin_mismatch");
  assert.match(!m.ok ? m.message : "", /re-pin it: cmesh peers pin buildbox/);
  const cfg = await resolve([changed], { peer: { stable_id: "nBOX" } });
  assert.equal(!cfg.ok && cfg.rule, "outbound.pin_mismatch");
  assert.match(!cfg.ok ? cfg.message : "", /set outbound\.peers\[\]\.stable_id/);
  const gone = await resolve([], { pin: { stableId: "nBOX", source: "user" } });
  assert.equal(gone.ok, false);
  assert.equal(!gone.ok && gone.rule, undefined, "not on the tailnet: not a refusal");
});

Deno.test("whois of the destination must name the node: mismatch, shared, failure", async () => {
  const other = { ...box, name: "other", stableId: "nOTHER" };
  const mismatch = await resolve([box], { whoisNodes: [other] });
  assert.equal(!mismatch.ok && mismatch.rule, "outbound.whois_mismatch");
  const pinnedMismatch = await resolve([box], {
    whoisNodes: [other],
    pin: { stableId: "nBOX", source: "user" },
  });
  assert.equal(!pinnedMismatch.ok && pinnedMismatch.rule, "outbound.pin_mismatch");
  const sharedWhois = await resolve([box], { whoisNodes: [{ ...box, sharer: true }] });
  assert.equal(!sharedWhois.ok && sharedWhois.rule, "outbound.peer_foreign");
  const failed = await resolve([box], { whoisNodes: [] });
  assert.equal(!failed.ok && failed.rule, "outbound.whois_failed");
  const noWhois = await resolvePeerTarget(peer(), {
    status: () => Promise.resolve({ ok: true, status: statusOf([box]) }),
    whois: null,
    pin: null,
  });
  assert.equal(!noWhois.ok && noWhois.rule, "outbound.whois_failed");
});

Deno.test("a configured address: tailnet IPs are checked, others used as configured", async () => {
  const asked: string[] = [];
  const st = statusOf([box]);
  const deps = (pin: PinRef | null) => ({
    status: () => Promise.resolve({ ok: true as const, status: st }),
    whois: whoisOf([box], asked),
    pin,
  });
  const ok = await resolvePeerTarget(peer({ address: "100.64.0.3" }), deps(null));
  assert.ok(ok.ok);
  assert.equal(ok.target.stableId, "nBOX");
  assert.deepEqual(asked, ["100.64.0.3"]);
  const wrong = await resolvePeerTarget(
    peer({ address: "100.64.0.3", stable_id: "nWRONG" }),
    deps(null),
  );
  assert.equal(!wrong.ok && wrong.rule, "outbound.pin_mismatch");
  const loop = await resolvePeerTarget(peer({ address: "127.0.0.1" }), deps(null));
  assert.ok(loop.ok);
  assert.equal(loop.target.pin, "unverified");
  assert.equal(loop.target.stableId, null);
  const pinnedLoop = await resolvePeerTarget(
    peer({ address: "127.0.0.1" }),
    deps({ stableId: "nBOX", source: "user" }),
  );
  assert.equal(!pinnedLoop.ok && pinnedLoop.rule, "outbound.whois_failed");
});

Deno.test("the directory finds a configured peer by the names the outbound policy accepts", async () => {
  using store = tempStore();
  const status = statusOf([box]);
  const directory = new PeerDirectory({
    store,
    self: "laptop",
    peers: [peer({ cwd: ["/srv/**"] })],
    status: () => Promise.resolve({ ok: true, status }),
    whois: whoisOf([box]),
  });
  // Case and a trailing dot do not matter (outbound policy's peer lookup), whatever the
  // peer's profiles and cwd globs allow.
  for (const name of ["buildbox", "BuildBox."]) {
    const r = await directory.resolve(name);
    assert.ok(r.ok, `${name}: ${!r.ok ? r.message : ""}`);
    assert.equal(r.target.stableId, "nBOX");
  }
  const unknown = await directory.resolve("otherbox");
  assert.equal(unknown.ok, false);
  assert.match(!unknown.ok ? unknown.message : "", /otherbox is not in outbound\.peers/);
});
