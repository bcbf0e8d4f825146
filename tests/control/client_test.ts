/** The control client reads a bounded answer: something else on the port cannot flood it. */
import assert from "node:assert/strict";
import { ControlClient, MAX_CONTROL_ANSWER_BYTES } from "../../src/control/client.ts";

/** A client of whatever listens on `port` (with a token, so it sends its requests). */
const clientOn = (port: number) =>
  new ControlClient({
    port,
    token: "tok_0123456789abcdefghij",
    tokenFile: "/nonexistent/control.token",
    configFile: "/nonexistent/config.toml",
  });

Deno.test("ControlClient: an endless answer is cut off at the cap and named a bad response", async () => {
  let sent = 0;
  let cancelled = false;
  const chunk = new Uint8Array(1024 * 1024).fill(0x20);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(c) {
            sent += chunk.length;
            c.enqueue(chunk);
          },
          cancel() {
            cancelled = true;
          },
        }),
        { headers: { "content-type": "application/json" } },
      ),
  );
  try {
    const client = clientOn(server.addr.port);
    const res = await client.get("/v1/status");
    assert.equal(res.ok, false);
    assert.equal(!res.ok && res.error.code, "bad_response");
    assert.match(!res.ok ? res.error.message : "", /larger than 64 MiB/);
    // The read stopped at the cap: the server was not drained for ever.
    assert.ok(sent < MAX_CONTROL_ANSWER_BYTES * 2, `sent ${sent} bytes`);
    for (let i = 0; i < 100 && !cancelled; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(cancelled, "the answer's stream was cancelled");
  } finally {
    await server.shutdown();
  }
});

Deno.test("ControlClient: an answer that is not JSON keeps its HTTP status as the error", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("<html>nope</html>", { status: 502 }),
  );
  try {
    const client = clientOn(server.addr.port);
    const res = await client.get("/v1/status");
    assert.ok(!res.ok);
    assert.equal(res.status, 502);
    assert.deepEqual(res.error, { code: "internal", message: "HTTP 502" });
  } finally {
    await server.shutdown();
  }
});
