/**
 * @module
 * The control client reads only what the daemon proves it sent, and only a bounded amount: a
 * process that holds the port without the token cannot read a request body (sealed to the token)
 * and is not believed, and even the daemon cannot flood the client.
 */
import assert from "node:assert/strict";
import { ControlClient, MAX_CONTROL_ANSWER_BYTES } from "../../src/control/client.ts";
import {
  daemonProof,
  parseSigned,
  PROOF_HEADER,
  SEAL_OVERHEAD,
  SEALED_TYPE,
  unsealBody,
} from "../../src/control/proof.ts";

const TOKEN = "tok_0123456789abcdefghij";

/** A client of whatever listens on `port` (with a token, so it sends its requests). */
const clientOn = (port: number) =>
  new ControlClient({
    port,
    token: TOKEN,
    tokenFile: "/nonexistent/control.token",
    configFile: "/nonexistent/config.toml",
  });

/** Headers that prove the token for `req`'s nonce (what the daemon adds). */
function proven(req: Request, token = TOKEN): Record<string, string> {
  const signed = parseSigned(req.headers.get("authorization") ?? "");
  assert.ok(signed, "the client signs its requests");
  return { [PROOF_HEADER]: daemonProof(token, signed.nonce) };
}

Deno.test("ControlClient: the token itself is never sent, only a mac made with it", async () => {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    seen.push(req.headers.get("authorization") ?? "");
    return Response.json({ node: "laptop" }, { headers: proven(req) });
  });
  try {
    const res = await clientOn(server.addr.port).get("/v1/status");
    assert.ok(res.ok, JSON.stringify(res));
    assert.equal(seen.length, 1);
    assert.ok(!seen[0].includes(TOKEN), seen[0]);
    assert.match(seen[0], /^Cmesh-HMAC ts=\d+, nonce=[0-9a-f]{32}, mac=[0-9a-f]{64}$/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("ControlClient: a listener without the token cannot read a body and is not believed", async () => {
  const seen: string[] = [];
  const bodies: Uint8Array[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const bytes = new Uint8Array(await req.arrayBuffer());
    bodies.push(bytes);
    seen.push(
      `${req.method} ${new URL(req.url).pathname} ${req.headers.get("content-type") ?? ""}`,
    );
    // Made-up answers, with a proof made with another token.
    return Response.json(
      { task: { id: "t_fake", state: "succeeded" } },
      { status: 202, headers: proven(req, "not_the_token_0123456789") },
    );
  });
  try {
    const client = clientOn(server.addr.port);
    const get = await client.get("/v1/tasks/t_1");
    assert.equal(!get.ok && get.error.code, "not_cmesh");
    assert.match(!get.ok ? get.error.message : "", /did not prove it is this user's cmesh daemon/);
    const prompt = "a secret prompt, long enough to be looked for";
    const post = await client.post("/v1/delegate", { peer: "p", prompt, cwd: "/x" });
    assert.equal(!post.ok && post.error.code, "not_cmesh");
    assert.deepEqual(seen, [
      "GET /v1/tasks/t_1 ",
      `POST /v1/delegate ${SEALED_TYPE}`,
    ]);
    // What the listener got is sealed: no part of the prompt, and only the token opens it.
    const got = bodies[1];
    const asText = new TextDecoder().decode(got);
    assert.ok(!asText.includes("secret") && !asText.includes('"prompt"'), asText);
    assert.ok(got.length >= prompt.length + SEAL_OVERHEAD);
  } finally {
    await server.shutdown();
  }
});

Deno.test("ControlClient: the sealed body opens with the token, for that request only", async () => {
  let opened: string | null = null;
  let elsewhere: Uint8Array | null = new Uint8Array();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const signed = parseSigned(req.headers.get("authorization") ?? "")!;
    const sealed = new Uint8Array(await req.arrayBuffer());
    const body = unsealBody(TOKEN, signed.nonce, req.method, new URL(req.url).pathname, sealed);
    opened = body && new TextDecoder().decode(body);
    elsewhere = unsealBody(TOKEN, signed.nonce, req.method, "/v1/tasks/t_1/cancel", sealed);
    return Response.json({ ok: true }, { headers: proven(req) });
  });
  try {
    const res = await clientOn(server.addr.port).post("/v1/delegate", { peer: "p", prompt: "hi" });
    assert.ok(res.ok, JSON.stringify(res));
    assert.deepEqual(JSON.parse(opened!), { peer: "p", prompt: "hi" });
    assert.equal(elsewhere, null, "a body sealed for one path does not open for another");
  } finally {
    await server.shutdown();
  }
});

Deno.test("ControlClient: an unproven 401 names the token file and is not believed", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json({ error: { code: "unauthorized", message: "made up" } }, { status: 401 }),
  );
  try {
    const res = await clientOn(server.addr.port).get("/v1/status");
    assert.ok(!res.ok);
    assert.equal(res.status, 401);
    assert.equal(res.error.code, "unauthorized");
    assert.match(res.error.message, /\/nonexistent\/control\.token/);
    assert.doesNotMatch(res.error.message, /made up/);
  } finally {
    await server.shutdown();
  }
});

Deno.test("ControlClient: an endless answer is cut off at the cap and named a bad response", async () => {
  let sent = 0;
  let cancelled = false;
  const chunk = new Uint8Array(1024 * 1024).fill(0x20);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
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
        { headers: { "content-type": "application/json", ...proven(req) } },
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

Deno.test("ControlClient: a proven answer that is not JSON keeps its HTTP status as the error", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => new Response("<html>nope</html>", { status: 502, headers: proven(req) }),
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
