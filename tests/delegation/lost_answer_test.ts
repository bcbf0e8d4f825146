/**
 * A submission whose answer never comes: the peer stored the task but its answer was lost (a
 * killed daemon) or too late (a busy one). The requester must not record `failed` for a task
 * that runs at the peer: it looks once more (status) and follows the task there. A peer that
 * never saw the task still fails the delegation, as before; and one whose connection broke
 * before it stored the task fails it as never received, once it says it does not know it.
 */
import assert from "node:assert/strict";
import { Requester } from "../../src/delegation/requester.ts";
import { allow } from "../../src/policy/decision.ts";
import { openStore } from "../../src/store/db.ts";
import { getTask } from "../../src/store/tasks.ts";
import { isTerminal } from "../../src/protocol/task.ts";

/** A peer whose POST /v1/tasks stores the task and then never answers. */
function slowPeer(knows: boolean) {
  const stored = new Set<string>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (req.method === "POST" && url.pathname === "/v1/tasks") {
      const body = await req.json();
      if (knows) stored.add(body.id);
      // The answer never arrives in time (until the client gives up and disconnects).
      await new Promise<void>((r) => {
        const t = setTimeout(r, 60_000);
        req.signal.addEventListener("abort", () => {
          clearTimeout(t);
          r();
        });
      });
      return new Response("{}");
    }
    const m = /^\/v1\/tasks\/([^/]+)$/.exec(url.pathname);
    if (req.method === "GET" && m) {
      if (!stored.has(m[1])) {
        return Response.json({ error: { code: "not_found", message: "no such task" } }, {
          status: 404,
        });
      }
      return Response.json({
        task: {
          id: m[1],
          state: "running",
          profile: "query",
          runner: "demo",
          cwd: "/srv",
          created_at: new Date().toISOString(),
          started_at: null,
          finished_at: null,
          error: null,
          last_event: null,
        },
      });
    }
    return Response.json({ error: { code: "not_found", message: "no" } }, { status: 404 });
  });
  return { server, port: (server.addr as Deno.NetAddr).port };
}

/** A requester on a fresh store that sends every task to `name` on 127.0.0.1:`port`. */
function requesterTo(
  name: string,
  port: number,
  timing: { peerTimeoutMs: number; pollMs: number },
) {
  const store = openStore(":memory:");
  const requester = new Requester({
    store,
    self: "laptop",
    ...timing,
    decide: () => allow("outbound.peers[0]", "ok"),
    resolvePeer: () => Promise.resolve({ ok: true, address: { name, host: "127.0.0.1", port } }),
  });
  const delegate = (id: string) =>
    requester.delegate({ peer: name, prompt: "p", cwd: "/srv", profile: "query", id });
  return { store, requester, delegate };
}

async function delegateTo(knows: boolean) {
  const peer = slowPeer(knows);
  const { store, requester, delegate } = requesterTo("slow", peer.port, {
    peerTimeoutMs: 200,
    pollMs: 60_000,
  });
  try {
    const out = await delegate("t_lostanswer1");
    return { out, task: getTask(store, "outbound", "t_lostanswer1")! };
  } finally {
    requester.close();
    store.close();
    await peer.server.shutdown().catch(() => {});
  }
}

Deno.test({
  name: "a peer that stored the task but never answered: followed there, not failed",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const { out, task } = await delegateTo(true);
    assert.equal(out.ok, true, JSON.stringify(out));
    assert.equal(task.state, "queued", "not terminal: the peer's answer decides");
  },
});

Deno.test({
  name: "a peer that never saw the task: the delegation fails as unreachable",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const { out, task } = await delegateTo(false);
    assert.equal(out.ok, false, JSON.stringify(out));
    assert.equal(task.state, "failed");
    assert.match(task.error?.message ?? "", /did not answer in time/);
  },
});

/**
 * A peer that reads each task submission and then drops the connection without storing the task
 * (its daemon killed mid-request), and answers 404 for the task afterwards; it has no
 * `POST /v1/events` (an older cmesh), so the task is followed by status.
 */
function droppingPeer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const reply = (status: number, body: unknown) => {
    const text = JSON.stringify(body);
    return new TextEncoder().encode(
      `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\n` +
        `content-length: ${
          new TextEncoder().encode(text).length
        }\r\nconnection: close\r\n\r\n${text}`,
    );
  };
  const serve = async (conn: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    let text = "";
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) continue;
      const length = Number(/content-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
      if (text.length - end - 4 >= length) break;
    }
    const [method, path] = text.split(" ");
    try {
      if (!(method === "POST" && path === "/v1/tasks")) {
        await conn.write(reply(404, { error: { code: "not_found", message: `no ${path}` } }));
      }
    } finally {
      conn.close();
    }
  };
  (async () => {
    for await (const conn of listener) serve(conn).catch(() => {});
  })().catch(() => {});
  return { listener, port: (listener.addr as Deno.NetAddr).port };
}

Deno.test({
  name: "a submission cut off before the peer stored it: followed, then failed as never received",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const peer = droppingPeer();
    const { store, requester, delegate } = requesterTo("dropping", peer.port, {
      peerTimeoutMs: 2000,
      pollMs: 20,
    });
    try {
      const out = await delegate("t_cutoff00001");
      assert.equal(out.ok, true, "followed: the peer may hold it");
      let task = getTask(store, "outbound", "t_cutoff00001")!;
      while (!isTerminal(task.state)) {
        await new Promise((r) => setTimeout(r, 20));
        task = getTask(store, "outbound", "t_cutoff00001")!;
      }
      assert.equal(task.state, "failed");
      assert.equal(task.error?.code, "unreachable", JSON.stringify(task.error));
      assert.match(task.error?.message ?? "", /dropping never received this task/);
    } finally {
      requester.close();
      store.close();
      peer.listener.close();
    }
  },
});
