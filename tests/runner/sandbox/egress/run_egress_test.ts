/**
 * @module
 * Tests of one task's egress set-up: the worker's net permissions name exactly the model
 * destinations and slot sockets; `model` without socat or without a free slot is refused
 * (never widened); with the sandbox off the run says egress is not enforced; a `model` run's
 * proxy listens on its slot and `finish()` frees the slot and removes the sockets.
 */
import assert from "node:assert/strict";
import { claudeManifest } from "../../../../src/runner/builtin/claude.ts";
import { codexManifest } from "../../../../src/runner/builtin/codex.ts";
import type { ResolvedRunner } from "../../../../src/runner/runtime.ts";
import { EgressRuntime } from "../../../../src/runner/sandbox/egress/run_egress.ts";
import { egressInit } from "../../../../src/runner/sandbox/egress/slots.ts";

const runner = (over: Partial<ResolvedRunner> = {}): ResolvedRunner => ({
  name: "claude",
  manifest: claudeManifest,
  binary: "/usr/bin/claude",
  prefixArgs: [],
  args: [],
  envPass: [],
  envSet: { ANTHROPIC_BASE_URL: "http://127.0.0.1:41234" },
  ...over,
});

Deno.test("egressInit grants the model destinations and the slot sockets, nothing else", () => {
  const { init, net } = egressInit({
    stateDir: "/var/lib/cmesh",
    maxConcurrent: 2,
    runners: [
      runner(),
      { ...runner(), name: "codex", manifest: codexManifest, envSet: {}, egress: "none" },
    ],
    env: {},
    daemonPorts: [7433, 7434],
    profileCaps: { query: "none", edit: undefined },
    socat: "/usr/bin/socat",
  });
  assert.deepEqual(init, {
    root: "/var/lib/cmesh/egress",
    slots: 4,
    tunnels: 1,
    socat: "/usr/bin/socat",
    daemonPorts: [7433, 7434],
    profileCaps: { query: "none" },
  });
  assert.deepEqual(net.filter((n) => !n.startsWith("unix:")), [
    "api.anthropic.com:443",
    "127.0.0.1:41234",
  ]);
  assert.equal(net.filter((n) => n.startsWith("unix:")).length, 4 * 2);
  assert.ok(net.includes("unix:/var/lib/cmesh/egress/s3/t0.sock"));
});

async function runtime(socat: string | null, slots = 1) {
  const root = await Deno.makeTempDir({ prefix: "cmesh-egress-rt-" });
  return {
    root,
    rt: new EgressRuntime({
      root: `${root}/egress`,
      slots,
      tunnels: 1,
      socat,
      daemonPorts: [],
      profileCaps: { query: "none" },
    }),
  };
}

Deno.test("model without socat is refused with the fix, never widened", async () => {
  const { root, rt } = await runtime(null);
  try {
    const eg = await rt.forTask(runner(), "edit", {}, { sandboxed: true });
    assert.equal(eg.ok, false);
    assert.match(!eg.ok ? eg.reason : "", /needs socat[^]*apt-get install socat/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a profile cap narrows; the sandbox off means host, and says it is not enforced", async () => {
  const { root, rt } = await runtime("/usr/bin/socat");
  try {
    const capped = await rt.forTask(runner(), "query", {}, { sandboxed: true });
    assert.ok(capped.ok);
    assert.deepEqual(capped.network, { kind: "none" });
    assert.equal(capped.describe, "none");
    const off = await rt.forTask(runner(), "edit", {}, { sandboxed: false });
    assert.ok(off.ok);
    assert.deepEqual(off.network, { kind: "host" });
    assert.match(off.describe, /not enforced: sandbox off/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a model run takes a slot, serves its sockets, and finish() frees both", async () => {
  const { root, rt } = await runtime("/usr/bin/socat", 1);
  try {
    const eg = await rt.forTask(runner(), "edit", {}, { sandboxed: true });
    assert.ok(eg.ok);
    assert.deepEqual(eg.network, {
      kind: "model",
      hosts: ["api.anthropic.com:443", "127.0.0.1:41234"],
    });
    assert.equal(eg.describe, "model: api.anthropic.com:443, 127.0.0.1:41234");
    assert.equal(eg.env.HTTPS_PROXY, "http://127.0.0.1:3128");
    assert.deepEqual(eg.extension.binds, [
      { source: `${root}/egress/s0`, dest: `${root}/egress/s0`, writable: false },
    ]);
    assert.ok((await Deno.stat(`${root}/egress/s0/p.sock`)).isSocket);
    assert.ok((await Deno.stat(`${root}/egress/s0/t0.sock`)).isSocket);
    // The only slot is taken: a second model run is refused, not widened.
    const second = await rt.forTask(runner(), "edit", {}, { sandboxed: true });
    assert.equal(second.ok, false);
    assert.match(!second.ok ? second.reason : "", /proxy slots are in use/);
    const summary = await eg.finish();
    assert.deepEqual(summary, { allowed: {}, refused: {}, bytes: 0, byteLimitHit: false });
    await assert.rejects(() => Deno.stat(`${root}/egress/s0`), Deno.errors.NotFound);
    const third = await rt.forTask(runner(), "edit", {}, { sandboxed: true });
    assert.ok(third.ok);
    await third.finish();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
