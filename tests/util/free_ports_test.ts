/**
 * @module
 * Tests of free ports: distinct within one call (the product demo) and across calls (tests).
 */
import assert from "node:assert/strict";
import { freePorts } from "../../src/util/free_ports.ts";
import { freePort, removeEndedClaims } from "../support/daemon.ts";

Deno.test("freePorts: the ports of one call are distinct and each can be listened on", () => {
  const ports = freePorts(16);
  assert.equal(new Set(ports).size, 16);
  for (const port of ports) {
    const l = Deno.listen({ hostname: "127.0.0.1", port });
    l.close();
  }
});

Deno.test("freePort (tests): never the same port twice in one process", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const port = freePort();
    assert.ok(!seen.has(port), `port ${port} handed out twice`);
    seen.add(port);
  }
});

Deno.test("freePort (tests): claim directories untouched for hours are removed, fresh ones kept", async () => {
  const base = Deno.env.get("TMPDIR") ?? "/tmp";
  // Pids no process of this run has: the directories are this test's own.
  const old = `${base}/cmesh-test-ports-999999901`;
  const fresh = `${base}/cmesh-test-ports-999999902`;
  try {
    for (const d of [old, fresh]) await Deno.mkdir(d, { recursive: true });
    const sevenHoursAgo = new Date(Date.now() - 7 * 3600_000);
    await Deno.utime(old, sevenHoursAgo, sevenHoursAgo);
    removeEndedClaims();
    await assert.rejects(Deno.stat(old), Deno.errors.NotFound);
    assert.ok((await Deno.stat(fresh)).isDirectory);
  } finally {
    for (const d of [old, fresh]) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
});
