/**
 * @module
 * Tests of free ports: distinct within one call (the product demo) and across calls (tests).
 */
import assert from "node:assert/strict";
import { freePorts, UNASSIGNED_PORTS } from "../../src/util/free_ports.ts";
import { CLAIM_TTL_MS, claimPort, freePort } from "../support/daemon.ts";

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

Deno.test("freePorts and freePort (tests): ports lie below the kernel's ephemeral range, where no port-0 listener lands", () => {
  const [low, high] = UNASSIGNED_PORTS;
  for (const port of [...freePorts(20), ...Array.from({ length: 20 }, freePort)]) {
    assert.ok(port >= low && port <= high, `port ${port}`);
  }
  // The ports the kernel picks for port 0 (and for outgoing connections) lie above the range.
  const listeners = Array.from(
    { length: 50 },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  try {
    for (const l of listeners) assert.ok((l.addr as Deno.NetAddr).port > high);
  } finally {
    for (const l of listeners) l.close();
  }
});

Deno.test("claimPort (tests): a port another run claimed is not handed out; a stale claim is taken over", () => {
  // A port number no kernel hands out, so the claim is this test's own.
  const port = 70_000 + (Deno.pid % 10_000);
  const file = `${Deno.env.get("TMPDIR") ?? "/tmp"}/cmesh-test-ports/${port}`;
  try {
    assert.equal(claimPort(port), true);
    // Another process (or this one) asking again while the claim is fresh: refused.
    assert.equal(claimPort(port), false);
    // The claim of a run that ended hours ago no longer holds the port.
    assert.equal(claimPort(port, Date.now() + CLAIM_TTL_MS + 60_000), true);
    assert.equal(claimPort(port), false);
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("freePort (tests): a claim made by another process is respected", async () => {
  const port = freePort();
  const other = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { claimPort } from ${
        JSON.stringify(new URL("../support/daemon.ts", import.meta.url).href)
      };
       console.log(claimPort(${port}));`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(other.success);
  assert.equal(new TextDecoder().decode(other.stdout).trim(), "false");
});
