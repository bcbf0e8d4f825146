/**
 * @module
 * Tests of one run's egress proxy on its unix sockets: CONNECT and absolute-form requests to
 * allowed destinations pass, everything else gets 403 naming the rule; a name that resolves to
 * loopback is refused before any byte passes; tunnels reach their one destination; the byte
 * and connection bounds hold; `close()` removes the sockets.
 */
import assert from "node:assert/strict";
import {
  type EgressRecord,
  startEgressProxy,
} from "../../../../src/runner/sandbox/egress/proxy.ts";
import type { EgressListener } from "../../../../src/runner/sandbox/egress/forwarder.ts";

/** An HTTP server on host loopback answering `name`. */
function server(name: string) {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => new Response(`${name} ${new URL(req.url).pathname}`),
  );
}

/** Sends `request` on a unix socket and reads until the peer closes or a body arrived. */
async function exchange(socket: string, request: string): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  await conn.write(new TextEncoder().encode(request)).catch(() => 0);
  const decoder = new TextDecoder();
  let text = "";
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    text += decoder.decode(buf.subarray(0, n), { stream: true });
    // Keep-alive responses never close: stop once the last response's body arrived.
    const last = text.lastIndexOf("HTTP/1.1 ");
    const m = /Content-Length: (\d+)\r\n[^]*?\r\n\r\n([^]*)$/i.exec(text.slice(last));
    if (m && new TextEncoder().encode(m[2]).length >= Number(m[1])) break;
  }
  try {
    conn.close();
  } catch { /* closed */ }
  return text;
}

async function withProxy(
  allowedPorts: number[],
  extra: {
    tunnels?: number[];
    limits?: Record<string, number>;
    names?: Record<string, number>;
  },
  fn: (
    dir: string,
    records: EgressRecord[],
    proxy: Awaited<ReturnType<typeof startEgressProxy>>,
  ) => Promise<void>,
) {
  const root = await Deno.makeTempDir({ prefix: "cmesh-egress-test-" });
  const dir = `${root}/eg`;
  const records: EgressRecord[] = [];
  const listeners: EgressListener[] = [{ kind: "proxy", socket: `${dir}/p.sock` }];
  for (const [i, port] of (extra.tunnels ?? []).entries()) {
    listeners.push({
      kind: "tunnel",
      socket: `${dir}/t${i}.sock`,
      destination: { host: "127.0.0.1", port },
    });
  }
  const allowed = [
    ...allowedPorts.map((port) => ({ host: "127.0.0.1", port })),
    ...Object.entries(extra.names ?? {}).map(([host, port]) => ({ host, port })),
  ];
  const proxy = await startEgressProxy({
    socketDir: dir,
    listeners,
    allowed,
    limits: extra.limits,
    onRecord: (r) => records.push(r),
    // Names resolve to host loopback here, as a hostile DNS answer would.
    connect: (d, signal) =>
      Deno.connect({
        hostname: d.host.includes(".example") ? "127.0.0.1" : d.host,
        port: d.port,
        signal,
      }),
  });
  try {
    await fn(dir, records, proxy);
  } finally {
    await proxy.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("CONNECT to an allowed destination is tunnelled; others get 403 naming the rule", async () => {
  const ok = server("model");
  const other = server("control-api");
  try {
    await withProxy([ok.addr.port], {}, async (dir, records, proxy) => {
      const good = await exchange(
        `${dir}/p.sock`,
        `CONNECT 127.0.0.1:${ok.addr.port} HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/messages HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      assert.match(good, /^HTTP\/1\.1 200 Connection Established/);
      assert.match(good, /model \/v1\/messages/);
      const bad = await exchange(
        `${dir}/p.sock`,
        `CONNECT 127.0.0.1:${other.addr.port} HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      assert.match(bad, /^HTTP\/1\.1 403 Forbidden/);
      assert.match(bad, /is not an allowed model host of this run/);
      assert.doesNotMatch(bad, /control-api/);
      assert.deepEqual(records.map((r) => [r.verdict, r.destination]), [
        ["allowed", `127.0.0.1:${ok.addr.port}`],
        ["refused", `127.0.0.1:${other.addr.port}`],
      ]);
      const s = proxy.summary();
      assert.equal(s.allowed[`127.0.0.1:${ok.addr.port}`], 1);
      assert.equal(s.refused[`127.0.0.1:${other.addr.port}`], 1);
      assert.ok(s.bytes > 0);
    });
  } finally {
    await ok.shutdown();
    await other.shutdown();
  }
});

Deno.test("absolute-form http requests are forwarded in origin form, to allowed hosts only", async () => {
  const ok = server("model");
  try {
    await withProxy([ok.addr.port], {}, async (dir) => {
      const good = await exchange(
        `${dir}/p.sock`,
        `GET http://127.0.0.1:${ok.addr.port}/v1/responses?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
      );
      assert.match(good, /^HTTP\/1\.1 200/);
      assert.match(good, /model \/v1\/responses/);
      const bad = await exchange(
        `${dir}/p.sock`,
        `GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
      );
      assert.match(bad, /^HTTP\/1\.1 403/);
      const junk = await exchange(`${dir}/p.sock`, `GET /relative HTTP/1.1\r\nHost: a\r\n\r\n`);
      assert.match(junk, /^HTTP\/1\.1 400[^]*only CONNECT/);
    });
  } finally {
    await ok.shutdown();
  }
});

Deno.test("an allowed name that resolves to loopback is refused before any byte passes", async () => {
  const control = server("control-api");
  try {
    await withProxy([], { names: { "model.example.com": control.addr.port } }, async (dir) => {
      const r = await exchange(
        `${dir}/p.sock`,
        `CONNECT model.example.com:${control.addr.port} HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n`,
      );
      assert.match(r, /^HTTP\/1\.1 403[^]*resolved to 127\.0\.0\.1, a loopback address/);
      assert.doesNotMatch(r, /control-api/);
    });
  } finally {
    await control.shutdown();
  }
});

Deno.test("a tunnel socket reaches its one destination", async () => {
  const ok = server("model");
  try {
    await withProxy([ok.addr.port], { tunnels: [ok.addr.port] }, async (dir, records) => {
      const r = await exchange(
        `${dir}/t0.sock`,
        `GET /direct HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.match(r, /model \/direct/);
      assert.equal(records[0].via, "tunnel");
    });
  } finally {
    await ok.shutdown();
  }
});

Deno.test("the byte budget cuts the run's traffic and says so", async () => {
  const big = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("x".repeat(200_000)),
  );
  try {
    await withProxy(
      [big.addr.port],
      { tunnels: [big.addr.port], limits: { maxBytes: 10_000 } },
      async (dir, _records, proxy) => {
        const r = await exchange(`${dir}/t0.sock`, `GET / HTTP/1.1\r\nHost: x\r\n\r\n`);
        assert.ok(r.length < 200_000, `got ${r.length} bytes`);
        assert.equal(proxy.summary().byteLimitHit, true);
      },
    );
  } finally {
    await big.shutdown();
  }
});

Deno.test("connections over the limit are refused; close() removes the socket directory", async () => {
  const ok = server("model");
  let socketDir = "";
  try {
    await withProxy(
      [ok.addr.port],
      { limits: { maxConnections: 1, headerTimeoutMs: 60_000 } },
      async (dir, records) => {
        socketDir = dir;
        const first = await Deno.connect({ transport: "unix", path: `${dir}/p.sock` });
        // The first client holds the only slot while it sends no header.
        const second = await exchange(`${dir}/p.sock`, "");
        assert.equal(second, "");
        first.close();
        assert.ok(records.some((r) => /more than 1 connections/.test(r.reason ?? "")));
      },
    );
    await assert.rejects(() => Deno.stat(socketDir), Deno.errors.NotFound);
  } finally {
    await ok.shutdown();
  }
});
