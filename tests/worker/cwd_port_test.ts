import assert from "node:assert/strict";
import { join } from "node:path";
import {
  answerCwdResolve,
  CwdPortClient,
  type CwdResolveRequest,
  isCwdResolveRequest,
  MAX_PORT_PATH,
} from "../../src/worker/cwd_port.ts";
import type { ResolvedCwd } from "../../src/inbound/cwd_resolve.ts";

/** root/app (the only readable root), link → root/app from outside it. */
async function tree() {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmesh-cwdport-" }));
  const app = join(base, "root", "app");
  await Deno.mkdir(app, { recursive: true });
  await Deno.symlink(app, join(base, "link-to-app"));
  return { base, app, cleanup: () => Deno.remove(base, { recursive: true }) };
}

Deno.test("a narrowed thread cannot follow a symlink into its root; the port can", async () => {
  const { base, app, cleanup } = await tree();
  const worker = new Worker(new URL("../support/cwd_port_probe.ts", import.meta.url), {
    type: "module",
    deno: {
      permissions: {
        read: [app],
        write: false,
        net: false,
        run: false,
        env: false,
        sys: false,
        ffi: false,
        import: false,
      },
    },
  });
  try {
    const got = await new Promise<{ direct: ResolvedCwd; viaPort: ResolvedCwd }>(
      (resolve, reject) => {
        worker.onerror = (e) => reject(new Error(e.message));
        worker.onmessage = async (e) => {
          if (isCwdResolveRequest(e.data)) {
            worker.postMessage(await answerCwdResolve(e.data));
          } else resolve(e.data);
        };
        worker.postMessage({ type: "probe", path: join(base, "link-to-app") });
      },
    );
    // Why the port exists: the sandboxed thread may not read the link outside its root.
    assert.equal(got.direct.ok, false, JSON.stringify(got.direct));
    assert.deepEqual(got.viaPort, { ok: true, real: app });
  } finally {
    worker.terminate();
    await cleanup();
  }
});

Deno.test("the port fails closed: timeout, too many in flight, too long, bad replies", async (t) => {
  await t.step("no answer within the timeout", async () => {
    const port = new CwdPortClient(() => {}, { timeoutMs: 10 });
    const r = await port.resolve("/srv/app");
    assert.equal(r.ok, false);
    assert.equal(port.pending, 0);
  });
  await t.step("more than maxPending at once", async () => {
    const sent: CwdResolveRequest[] = [];
    const port = new CwdPortClient((m) => sent.push(m), { maxPending: 2, timeoutMs: 60_000 });
    const a = port.resolve("/a");
    const b = port.resolve("/b");
    const c = await port.resolve("/c");
    assert.equal(c.ok, false);
    assert.match(!c.ok ? c.reason : "", /too many/);
    assert.equal(sent.length, 2, "the third was not even asked");
    for (const m of sent) {
      port.deliver(await answerCwdResolve(m, (p) => Promise.resolve({ ok: true, real: p })));
    }
    assert.deepEqual(await a, { ok: true, real: "/a" });
    assert.deepEqual(await b, { ok: true, real: "/b" });
  });
  await t.step("an over-long path is refused on both sides", async () => {
    const long = "/" + "a".repeat(MAX_PORT_PATH);
    let asked = 0;
    const port = new CwdPortClient(() => asked++);
    assert.equal((await port.resolve(long)).ok, false);
    assert.equal(asked, 0);
    const reply = await answerCwdResolve({ type: "cwd.resolve", id: 1, path: long });
    assert.equal(reply.result.ok, false);
  });
  await t.step("a malformed reply is a failure, an unknown id is ignored", async () => {
    const sent: CwdResolveRequest[] = [];
    const port = new CwdPortClient((m) => sent.push(m), { timeoutMs: 60_000 });
    const r = port.resolve("/x");
    port.deliver({ type: "cwd.resolved", id: 999, result: { ok: true, real: "/elsewhere" } });
    assert.equal(port.pending, 1);
    port.deliver({ type: "cwd.resolved", id: sent[0].id, result: { ok: true } as never });
    assert.equal((await r).ok, false);
  });
  await t.step("a resolver that throws answers 'could not be resolved'", async () => {
    const reply = await answerCwdResolve(
      { type: "cwd.resolve", id: 7, path: "/x" },
      () => Promise.reject(new Error("boom")),
    );
    assert.deepEqual(reply, {
      type: "cwd.resolved",
      id: 7,
      result: { ok: false, reason: "could not be resolved" },
    });
  });
});
