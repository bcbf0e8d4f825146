/**
 * A malicious peer cannot make the requester hold what it sends: an endless event-stream
 * message, or an endless answer, is cut off at the requester's bound while it is read, and the
 * task fails with `peer_response_too_large`. The peer server counts the bytes the requester
 * actually pulled from it (its stream is pull-based, so what is not read is never produced).
 */
import assert from "node:assert/strict";
import { TaskFollower } from "../../src/delegation/follower.ts";
import { MAX_PEER_EVENT_CHARS, MAX_PEER_RESPONSE_BYTES } from "../../src/delegation/peer_client.ts";
import { readSse, SseTooLarge } from "../../src/delegation/sse.ts";
import { TaskBus } from "../../src/scheduler/task_bus.ts";
import { openStore } from "../../src/store/db.ts";
import { requestHash } from "../../src/store/hash.ts";
import { getTask, insertTask } from "../../src/store/tasks.ts";

const MiB = 1024 * 1024;

/** An endless body: `chunk` repeated forever, produced only as fast as the reader pulls. */
function endless(prefix: string, chunk: string, counter: { bytes: number }) {
  const enc = new TextEncoder();
  let first = true;
  const piece = enc.encode(chunk.repeat(Math.max(1, Math.floor(65536 / chunk.length))));
  return new ReadableStream<Uint8Array>({
    pull(ctl) {
      const out = first ? enc.encode(prefix) : piece;
      first = false;
      counter.bytes += out.byteLength;
      ctl.enqueue(out);
    },
  }, { highWaterMark: 0 });
}

type Mode = "event-lines" | "event-one-line" | "status-body" | "old-peer";

function maliciousPeer(mode: Mode) {
  const pulled = { bytes: 0 };
  const running = JSON.stringify({
    task: {
      id: "t-victim-01",
      state: "running",
      runner: "zero",
      profile: "query",
      created_at: new Date().toISOString(),
    },
  });
  const sse = (body: ReadableStream<Uint8Array> | string) =>
    new Response(body, { headers: { "content-type": "text/event-stream" } });
  const endlessEvent = () =>
    mode === "event-one-line"
      ? endless("event: task\ndata: ", "y", pulled)
      // Many short data lines and never the blank line that ends a message.
      : endless("event: task\n", "data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", pulled);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/v1/events") {
      if (mode === "old-peer") {
        return Response.json({ error: { code: "not_found" } }, { status: 404 });
      }
      if (mode === "status-body") {
        return sse('event: end\ndata: {"task_id":"t-victim-01","state":"succeeded"}\n\n');
      }
      return sse(endlessEvent());
    }
    if (path.endsWith("/events")) return sse(endlessEvent());
    if (mode === "status-body") {
      return new Response(endless('{"task": {"id": "', "z", pulled), {
        headers: { "content-type": "application/json" },
      });
    }
    return new Response(running, { headers: { "content-type": "application/json" } });
  });
  return { server, pulled, port: (server.addr as Deno.NetAddr).port };
}

async function followAgainst(mode: Mode) {
  const peer = maliciousPeer(mode);
  const store = openStore(":memory:");
  const bus = new TaskBus();
  const id = "t-victim-01";
  const req = { id, prompt: "hi", cwd: "/srv/app", profile: "query" };
  insertTask(store, {
    direction: "outbound",
    id,
    peer: "evil",
    profile: "query",
    runner: "zero",
    cwd: "/srv/app",
    prompt: "hi",
    request_hash: requestHash(req as never),
  });
  const follower = new TaskFollower({ store, bus, self: "laptop", pollMs: 10 });
  const done = new Promise<void>((resolve) => {
    const check = () => {
      const t = getTask(store, "outbound", id)!;
      if (t.state !== "queued" && t.state !== "running") resolve();
    };
    bus.on(id, check);
  });
  follower.follow(getTask(store, "outbound", id)!, {
    name: "evil",
    host: "127.0.0.1",
    port: peer.port,
  });
  await done;
  follower.close();
  const task = getTask(store, "outbound", id)!;
  store.close();
  await peer.server.shutdown();
  return { task, pulled: peer.pulled.bytes };
}

for (const mode of ["event-lines", "event-one-line", "old-peer"] as const) {
  Deno.test(`an endless event-stream message (${mode}) fails the task; reading stops at the bound`, async () => {
    const { task, pulled } = await followAgainst(mode);
    assert.equal(task.state, "failed");
    assert.equal(task.error?.code, "peer_response_too_large");
    assert.match(task.error!.message, /evil sent an event-stream message larger than/);
    // The bound plus what sits in socket and stream buffers, not the endless rest.
    assert.ok(pulled >= MAX_PEER_EVENT_CHARS, `pulled ${pulled}`);
    assert.ok(pulled < MAX_PEER_EVENT_CHARS + 16 * MiB, `pulled ${pulled} bytes`);
  });
}

Deno.test("an endless answer (status) fails the task; reading stops at the bound", async () => {
  const { task, pulled } = await followAgainst("status-body");
  assert.equal(task.state, "failed");
  assert.equal(task.error?.code, "peer_response_too_large");
  assert.match(task.error!.message, /evil sent an answer larger than/);
  assert.ok(pulled >= MAX_PEER_RESPONSE_BYTES, `pulled ${pulled}`);
  assert.ok(pulled < MAX_PEER_RESPONSE_BYTES + 16 * MiB, `pulled ${pulled} bytes`);
});

Deno.test("readSse: small messages pass; one growing past the bound throws while read", async () => {
  const ok = new Response("id: 1\nevent: a\ndata: x\ndata: y\n\n: keep-alive\n\ndata: z\n\n").body!;
  const got = [];
  for await (const m of readSse(ok, 100)) got.push(m);
  assert.deepEqual(got, [
    { id: "1", event: "a", data: "x\ny" },
    { id: null, event: "message", data: "z" },
  ]);
  const pulled = { bytes: 0 };
  const big = endless("", "data: 0123456789\n", pulled);
  await assert.rejects(async () => {
    for await (const _ of readSse(big, 10_000)) { /* nothing is yielded */ }
  }, SseTooLarge);
  assert.ok(pulled.bytes < 10_000 + 3 * 65536, `pulled ${pulled.bytes}`);
});
