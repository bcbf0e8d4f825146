/**
 * @module
 * Tests of the identity port: the worker thread's whois goes through the main thread's lookup
 * and comes back as it was; every failure (no answer, too many, a malformed answer, a throwing
 * lookup, a malformed address) is a refusal; node names reach the thread.
 */
import assert from "node:assert/strict";
import {
  answerWhois,
  IdentityPortClient,
  isSelfUpdate,
  isWhoisReply,
  isWhoisRequest,
  SelfRelay,
  type SelfUpdate,
  type WhoisRequest,
} from "../../src/worker/identity_port.ts";
import type { IdentityLookup, IdentityOutcome } from "../../src/worker/ports.ts";
import type { SelfStatus } from "../../src/tailscale/status.ts";

const laptop = {
  node: "laptop",
  dnsName: "laptop.tail1.ts.net.",
  stableId: "nL1",
  login: "ann@example.com",
  tags: [],
  capMap: { "example.com/cap/cmesh": [{ profiles: ["query"] }] },
};

const lookup: IdentityLookup = {
  whois: (ip) =>
    Promise.resolve(
      ip === "100.64.0.2"
        ? { ok: true, identity: laptop }
        : { ok: false, code: "not_found", reason: `no node has ${ip}` },
    ),
};

/** A client whose requests the main-thread side answers with `lookup`, as start_worker does. */
function wired(l: IdentityLookup) {
  const client: IdentityPortClient = new IdentityPortClient((m) => {
    assert.ok(isWhoisRequest(m));
    // structuredClone: what crosses a Worker's port is a copy.
    answerWhois(structuredClone(m), l).then((reply) => {
      const copy = structuredClone(reply);
      assert.ok(isWhoisReply(copy));
      client.deliver(copy);
    });
  });
  return client;
}

Deno.test("identity port: a whois crosses to the main thread's lookup and back", async () => {
  const client = wired(lookup);
  assert.deepEqual(await client.whois("100.64.0.2", 40000), { ok: true, identity: laptop });
  assert.deepEqual(await client.whois("100.64.0.9", 40000), {
    ok: false,
    code: "not_found",
    reason: "no node has 100.64.0.9",
  });
  assert.equal(client.pending, 0);
});

Deno.test("identity port: a lookup that throws, or a malformed address, is a refusal", async () => {
  const throwing = wired({ whois: () => Promise.reject(new Error("socket gone")) });
  const r = await throwing.whois("100.64.0.2", 1);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.code, "unavailable");
  assert.match(!r.ok ? r.reason : "", /socket gone/);
  const req: WhoisRequest = { type: "identity.whois", id: 1, ip: "1".repeat(500), port: 1 };
  const bad = await answerWhois(req, lookup);
  assert.equal(bad.outcome.ok, false);
  const port = await answerWhois({ ...req, ip: "100.64.0.2", port: 70000 }, lookup);
  assert.equal(port.outcome.ok, false);
});

Deno.test("identity port: no answer, too many in flight, or a malformed answer refuse", async () => {
  const silent = new IdentityPortClient(() => {}, { timeoutMs: 20, maxPending: 1 });
  const first = silent.whois("100.64.0.2", 1);
  const second = await silent.whois("100.64.0.2", 2);
  assert.equal(second.ok, false);
  assert.match(!second.ok ? second.reason : "", /too many/);
  const r = await first;
  assert.equal(!r.ok && r.code, "unavailable");
  assert.match(!r.ok ? r.reason : "", /did not answer/);

  let sent: WhoisRequest | null = null;
  const client = new IdentityPortClient((m) => (sent = m));
  const malformed = [
    { ok: true, identity: { ...laptop, stableId: 7 } },
    { ok: true, identity: { ...laptop, tags: "tag:x" } },
    { ok: true },
    { ok: false, code: "not_found" },
  ] as unknown as IdentityOutcome[];
  for (const outcome of malformed) {
    const p = client.whois("100.64.0.2", 1);
    client.deliver({ type: "identity.answer", id: sent!.id, outcome });
    const got = await p;
    assert.equal(got.ok, false, JSON.stringify(outcome));
    assert.match(!got.ok ? got.reason : "", /malformed/);
  }
  // A posting that throws is a refusal too, not a throw.
  const broken = new IdentityPortClient(() => {
    throw new Error("port closed");
  });
  assert.equal((await broken.whois("100.64.0.2", 1)).ok, false);
});

Deno.test("identity port: the relay keeps the latest names and posts each change once attached", () => {
  const a = { name: "w", dnsName: "w.tail1.ts.net", addresses: ["100.64.0.1"] } as SelfStatus;
  const b = { ...a, addresses: ["100.64.0.7"] } as SelfStatus;
  const relay = new SelfRelay(a);
  const posted: SelfUpdate[] = [];
  relay.set(b); // before attach: kept, not posted
  assert.equal(relay.latest, b);
  relay.attach((m) => posted.push(m));
  relay.set(null);
  relay.set(a);
  assert.deepEqual(posted, [
    { type: "identity.self", self: null },
    { type: "identity.self", self: a },
  ]);
  assert.ok(posted.every(isSelfUpdate));
  assert.ok(!isSelfUpdate({ type: "identity.self", self: { addresses: "x" } }));
});
