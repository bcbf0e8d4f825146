/**
 * @module
 * Tests of free ports: distinct within one call (the product demo) and across calls (tests).
 */
import assert from "node:assert/strict";
import { freePorts } from "../../src/util/free_ports.ts";
import { freePort } from "../support/daemon.ts";

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
