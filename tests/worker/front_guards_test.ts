import assert from "node:assert/strict";
import { RateLimitedAudit } from "../../src/worker/guards/audit_limit.ts";
import { NodeHosts, splitHost } from "../../src/worker/guards/node_hosts.ts";

Deno.test("NodeHosts: this node's addresses and names, with or without the port", () => {
  const h = new NodeHosts(7433);
  assert.equal(h.allowed("100.64.0.1:7433"), false, "nothing before status is known");
  h.set({
    addresses: ["100.64.0.1", "fd7a:115c:a1e0::1"],
    dnsName: "worker.tail1.ts.net",
    name: "worker",
  });
  for (
    const ok of [
      "100.64.0.1",
      "100.64.0.1:7433",
      "[fd7a:115c:a1e0::1]",
      "[fd7a:115c:a1e0:0::1]:7433",
      "worker.tail1.ts.net",
      "worker.tail1.ts.net.",
      "worker.tail1.ts.net.:7433",
      "worker",
      "worker:7433",
    ]
  ) {
    assert.equal(h.allowed(ok), true, ok);
  }
  for (
    const bad of [
      "",
      "evil.example",
      "evil.example:7433",
      "100.64.0.1:7434",
      "100.64.0.2:7433",
      "[100.64.0.1]:7433",
      "fd7a:115c:a1e0::1",
      "worker.tail1.ts.net.evil:7433",
      "worker..",
      "worker.evil",
      "localhost:7433",
      "127.0.0.1:7433",
      "100.64.0.1:7433:7433",
      "100.64.0.1:",
    ]
  ) {
    assert.equal(h.allowed(bad), false, bad);
  }
  // A re-login with new addresses and name replaces the old ones.
  h.set({ addresses: ["100.64.0.7"], dnsName: "box.tail2.ts.net", name: "box" });
  assert.equal(h.allowed("100.64.0.1:7433"), false);
  assert.equal(h.allowed("worker.tail1.ts.net"), false);
  assert.equal(h.allowed("box.tail2.ts.net:7433"), true);
  h.set(null);
  assert.equal(h.allowed("box.tail2.ts.net:7433"), false, "logged out: nothing");
  assert.match(h.describe(), /not reported/);
});

Deno.test("NodeHosts.loopback (local demo) accepts the loopback names with the port only", () => {
  const h = NodeHosts.loopback(7433);
  assert.equal(h.allowed("127.0.0.1:7433"), true);
  assert.equal(h.allowed("localhost:7433"), true);
  assert.equal(h.allowed("127.0.0.1"), false);
  assert.equal(h.allowed("evil.example:7433"), false);
});

Deno.test("splitHost", () => {
  assert.deepEqual(splitHost("A.b:80"), { name: "a.b", port: 80 });
  assert.deepEqual(splitHost("[::1]"), { name: "::1", port: null });
  assert.equal(splitHost("a b"), null);
  assert.equal(splitHost("a:b"), null);
});

Deno.test("RateLimitedAudit: N per rule per window, then one 'suppressed K' record", () => {
  let now = 0;
  const written: { rule: string; reason: string }[] = [];
  const audit = new RateLimitedAudit({ auditDenied: (i) => written.push(i) }, {
    perWindow: 3,
    windowMs: 60_000,
    now: () => now,
  });
  for (let i = 0; i < 1000; i++) {
    audit.auditDenied({ sourceIp: "100.64.0.9", rule: "front.host", reason: `r${i}` });
  }
  audit.auditDenied({ sourceIp: "100.64.0.9", rule: "front.origin", reason: "o" });
  assert.deepEqual(written.map((w) => w.rule), [
    "front.host",
    "front.host",
    "front.host",
    "front.origin",
  ]);
  now = 30_000;
  audit.flush();
  assert.equal(written.length, 4, "no summary before the window ends");
  now = 60_000;
  audit.flush();
  assert.equal(written.length, 5);
  assert.equal(written[4].rule, "front.host");
  assert.match(written[4].reason, /suppressed 997 more/);
  assert.match(written[4].reason, /r999/);
  audit.auditDenied({ sourceIp: "100.64.0.9", rule: "front.host", reason: "again" });
  assert.equal(written.length, 6, "a new window has a new budget");
});
