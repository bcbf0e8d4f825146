/** SSE messages gathered into one write read back as Hono's `writeSSE` would have sent them. */
import assert from "node:assert/strict";
import { SSEStreamingApi } from "hono/streaming";
import { readSse } from "../../src/delegation/sse.ts";
import { SSE_BATCH_MAX_CHARS, SseBatch } from "../../src/worker/sse_batch.ts";

/** What Hono's `writeSSE` writes for the same messages, one write each. */
async function honoText(messages: { event: string; data: string; id?: string }[]) {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const stream = new SSEStreamingApi(writable, readable);
  const text = new Response(stream.responseReadable).text();
  for (const m of messages) await stream.writeSSE(m);
  await stream.close();
  return await text;
}

Deno.test("SseBatch: the same bytes as Hono's writeSSE, message by message", async () => {
  const messages = [
    { event: "task", data: JSON.stringify({ task_id: "t1234567", event: { text: "a\nb" } }) },
    { event: "state", data: JSON.stringify({ seq: 3 }), id: "3" },
    { event: "ready", data: "{}" },
  ];
  const batch = new SseBatch();
  for (const m of messages) batch.add(m.event, m.data, m.id);
  const text = batch.take();
  assert.equal(text, await honoText(messages));
  assert.equal(batch.take(), "", "taking empties it");
  const body = new Response(text).body!;
  const read = [];
  for await (const m of readSse(body, 1 << 20)) read.push(m);
  assert.deepEqual(
    read.map((m) => [m.event, m.data, m.id]),
    messages.map((m) => [
      m.event,
      m.data,
      m.id ?? null,
    ]),
  );
});

Deno.test("SseBatch: a line break in a message is refused, not sent as two", () => {
  const batch = new SseBatch();
  assert.throws(() => batch.add("task", '{"a":1}\ndata: {"b":2}'), /line break/);
  assert.throws(() => batch.add("end\r", "{}"), /line break/);
  assert.throws(() => batch.add("end", "{}", "1\n"), /line break/);
  assert.equal(batch.take(), "");
});

Deno.test("SseBatch: full once it holds more than its limit", () => {
  const batch = new SseBatch();
  batch.add("task", JSON.stringify("x".repeat(SSE_BATCH_MAX_CHARS - 100)));
  assert.equal(batch.full, false);
  batch.add("task", JSON.stringify("x".repeat(200)));
  assert.equal(batch.full, true);
  batch.take();
  assert.equal(batch.full, false);
});
