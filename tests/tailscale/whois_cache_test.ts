import assert from "node:assert/strict";
import type { PeerIdentity } from "../../src/tailscale/identity.ts";
import type { CallOptions, WhoisResult } from "../../src/tailscale/localapi.ts";
import { CachingWhois, WhoisCache, type WhoisSource } from "../../src/tailscale/whois_cache.ts";

const ident = (node: string, ip: string): PeerIdentity => ({
  node,
  dnsName: `${node}.ts.net`,
  stableId: `n${node}`,
  login: `${node}@example.com`,
  tags: [],
  addresses: [ip],
  capMap: { "x/cap/y": [{ a: [1] }] },
  shared: false,
  expired: false,
});

class FakeSource implements WhoisSource {
  calls: Array<{ ip: string; port: number }> = [];
  answers = new Map<string, WhoisResult>();
  gate: Promise<void> | null = null;
  async whois(ip: string, port: number, _opts?: CallOptions): Promise<WhoisResult> {
    this.calls.push({ ip, port });
    // tailscaled answers from its state at the time of the call.
    const answer = this.answers.get(ip) ?? { ok: false, code: "not_found", reason: "no match" };
    if (this.gate) await this.gate;
    return answer;
  }
}

Deno.test("cache: TTL expiry with an injected clock", () => {
  let now = 1000;
  const c = new WhoisCache({ ttlMs: 2000, now: () => now });
  c.set("100.64.0.2", ident("a", "100.64.0.2"));
  assert.equal(c.get("100.64.0.2")?.node, "a");
  now = 2999;
  assert.equal(c.get("::ffff:100.64.0.2")?.node, "a", "keyed by normalised IP");
  now = 3000;
  assert.equal(c.get("100.64.0.2"), undefined, "expired at exactly ttl");
  assert.equal(c.size, 0, "expired entry dropped on read");
});

Deno.test("cache: bounded, oldest evicted first", () => {
  const c = new WhoisCache({ maxEntries: 3 });
  for (let i = 1; i <= 5; i++) c.set(`100.64.0.${i}`, ident(`n${i}`, `100.64.0.${i}`));
  assert.equal(c.size, 3);
  assert.equal(c.get("100.64.0.1"), undefined);
  assert.equal(c.get("100.64.0.2"), undefined);
  assert.equal(c.get("100.64.0.5")?.node, "n5");
  // re-setting refreshes position
  c.set("100.64.0.3", ident("n3b", "100.64.0.3"));
  c.set("100.64.0.6", ident("n6", "100.64.0.6"));
  assert.equal(c.get("100.64.0.4"), undefined);
  assert.equal(c.get("100.64.0.3")?.node, "n3b");
});

Deno.test("cache: only tailnet addresses are cacheable", () => {
  const c = new WhoisCache();
  for (const ip of ["127.0.0.1", "::1", "192.0.2.3", "100.100.100.100", "garbage"]) {
    c.set(ip, ident("x", ip));
    assert.equal(c.get(ip), undefined, ip);
  }
  assert.equal(c.size, 0);
  assert.equal(WhoisCache.cacheable("fd7a:115c:a1e0::2"), true);
  assert.equal(WhoisCache.cacheable("::ffff:127.0.0.1"), false);
});

Deno.test("cache: ttl 0 disables caching; clear and delete", () => {
  const off = new WhoisCache({ ttlMs: 0 });
  off.set("100.64.0.2", ident("a", "100.64.0.2"));
  assert.equal(off.size, 0);
  const c = new WhoisCache();
  c.set("100.64.0.2", ident("a", "100.64.0.2"));
  c.set("100.64.0.3", ident("b", "100.64.0.3"));
  c.delete("::ffff:100.64.0.2");
  assert.equal(c.get("100.64.0.2"), undefined);
  c.clear();
  assert.equal(c.size, 0);
});

Deno.test("CachingWhois: successes cached, failures never", async () => {
  let now = 0;
  const src = new FakeSource();
  const w = new CachingWhois(src, new WhoisCache({ now: () => now }));
  src.answers.set("100.64.0.2", { ok: true, identity: ident("a", "100.64.0.2") });

  assert.ok((await w.whois("100.64.0.2", 1)).ok);
  assert.ok((await w.whois("::ffff:100.64.0.2", 2)).ok);
  assert.equal(src.calls.length, 1, "second lookup served from cache");

  assert.ok(!(await w.whois("100.64.0.9", 1)).ok);
  assert.ok(!(await w.whois("100.64.0.9", 1)).ok);
  assert.equal(src.calls.length, 3, "failures are asked again every time");

  now = 2000;
  await w.whois("100.64.0.2", 3);
  assert.equal(src.calls.length, 4, "asked again after the TTL");
});

Deno.test("CachingWhois: loopback (proxy map) is per port and never cached", async () => {
  const src = new FakeSource();
  src.answers.set("127.0.0.1", { ok: true, identity: ident("a", "100.64.0.2") });
  const w = new CachingWhois(src);
  await w.whois("127.0.0.1", 50001);
  await w.whois("127.0.0.1", 50002);
  assert.deepEqual(src.calls, [{ ip: "127.0.0.1", port: 50001 }, { ip: "127.0.0.1", port: 50002 }]);
  assert.equal(w.cache.size, 0);
});

Deno.test("CachingWhois: concurrent misses share one lookup", async () => {
  const src = new FakeSource();
  src.answers.set("100.64.0.2", { ok: true, identity: ident("a", "100.64.0.2") });
  let open!: () => void;
  src.gate = new Promise((r) => (open = r));
  const w = new CachingWhois(src);
  const all = Promise.all([
    w.whois("100.64.0.2", 1),
    w.whois("100.64.0.2", 2),
    w.whois("::ffff:6440:2", 3),
  ]);
  open();
  const results = await all;
  assert.equal(src.calls.length, 1);
  assert.ok(results.every((r) => r.ok && r.identity.node === "a"));
});

Deno.test("CachingWhois: returned identities are frozen", async () => {
  const src = new FakeSource();
  src.answers.set("100.64.0.2", { ok: true, identity: ident("a", "100.64.0.2") });
  const w = new CachingWhois(src);
  const r = await w.whois("100.64.0.2", 1);
  assert.ok(r.ok);
  assert.throws(() => {
    (r.identity.tags as string[]).push("tag:evil");
  }, TypeError);
  assert.throws(() => {
    (r.identity.capMap["x/cap/y"][0] as { a: number[] }).a.push(2);
  }, TypeError);
  const again = await w.whois("100.64.0.2", 1);
  assert.ok(again.ok);
  assert.deepEqual(again.identity.tags, []);
});

Deno.test("CachingWhois.invalidate forgets answers and lookups in flight", async () => {
  const src = new FakeSource();
  src.answers.set("100.64.0.2", { ok: true, identity: ident("a", "100.64.0.2") });
  const w = new CachingWhois(src, new WhoisCache({ ttlMs: 3_600_000 }));
  assert.equal((await w.whois("100.64.0.2", 1)).ok, true);
  await w.whois("100.64.0.2", 2);
  assert.equal(src.calls.length, 1, "cached for the (long) TTL");
  w.invalidate();
  src.answers.delete("100.64.0.2");
  assert.equal((await w.whois("100.64.0.2", 3)).ok, false, "asked again after the change");
  assert.equal(src.calls.length, 2);

  // A lookup that started before the change must neither be shared nor cached after it.
  src.answers.set("100.64.0.2", { ok: true, identity: ident("a", "100.64.0.2") });
  let open!: () => void;
  src.gate = new Promise((r) => (open = r));
  const early = w.whois("100.64.0.2", 4);
  w.invalidate();
  src.answers.delete("100.64.0.2");
  const late = w.whois("100.64.0.2", 5);
  open();
  assert.equal((await early).ok, true);
  assert.equal((await late).ok, false, "the late caller did not get the early answer");
  src.gate = null;
  assert.equal((await w.whois("100.64.0.2", 6)).ok, false, "the early answer was not cached");
});

Deno.test("CachingWhois.setCaching(false) asks every time", async () => {
  const src = new FakeSource();
  src.answers.set("100.64.0.2", { ok: true, identity: ident("a", "100.64.0.2") });
  const w = new CachingWhois(src);
  w.setCaching(false);
  await w.whois("100.64.0.2", 1);
  await w.whois("100.64.0.2", 2);
  assert.equal(src.calls.length, 2);
  w.setCaching(true);
  await w.whois("100.64.0.2", 3);
  await w.whois("100.64.0.2", 4);
  assert.equal(src.calls.length, 3);
});
