import assert from "node:assert/strict";
import {
  PROOF_HEADER,
  proofHolds,
  sealBody,
  SEALED_TYPE,
  signRequest,
} from "../../src/control/proof.ts";
import { createControlApp } from "../../src/control/app.ts";
import { DelegateBody, WaitAnswer } from "../../src/protocol/control.ts";
import { Requester } from "../../src/delegation/requester.ts";
import { allow, deny } from "../../src/policy/decision.ts";
import { openStore } from "../../src/store/db.ts";
import { saveResult } from "../../src/store/task_events.ts";
import { insertTask, updateTaskState } from "../../src/store/tasks.ts";
import { taskResult } from "../support/task_fixtures.ts";

const TOKEN = "tok_0123456789abcdefghij";
const PORT = 7434;

function makeApp() {
  const store = openStore(":memory:");
  const delegation = new Requester({
    store,
    self: "laptop",
    decide: (i) =>
      i.cwd.startsWith("/srv/") ? allow("outbound.peers[0]", "ok") : deny(
        "outbound.cwd",
        `cwd ${i.cwd} is not allowed for peer ${i.peer}; allowed cwd patterns: /srv/**`,
      ),
    resolvePeer: () => Promise.resolve({ ok: false, message: "peer buildbox is offline" }),
  });
  const app = createControlApp({
    port: PORT,
    token: TOKEN,
    tokenFile: "/state/control.token",
    maxBodyBytes: 1024,
    tasks: delegation,
    node: {
      status: () =>
        Promise.resolve({
          node: "laptop",
          version: "0.0.0",
          pid: 1,
          demo: false,
          local_only: false,
          config_file: "/c/config.toml",
          state_dir: "/state",
          control: `127.0.0.1:${PORT}`,
          worker: { enabled: false, listening: [] },
          tailnet: { ok: false, reason: "no tailnet here" },
          runners: { inbound: "disabled" },
          outbound_peers: [],
        }),
      peers: () => Promise.resolve([]),
    },
  });
  return { app, store };
}

const loopback = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 50000 } as Deno.NetAddr,
};
const good = { host: `127.0.0.1:${PORT}`, authorization: `Bearer ${TOKEN}` };

async function req(
  path: string,
  init: RequestInit & { headers?: Record<string, string> },
  env = loopback,
) {
  const { app, store } = makeApp();
  try {
    const res = await app.request(`http://127.0.0.1:${PORT}${path}`, init, env);
    return { status: res.status, body: await res.json(), headers: res.headers };
  } finally {
    store.close();
  }
}

Deno.test("control API: the right token on loopback with the right Host is served", async () => {
  const r = await req("/v1/status", { headers: good });
  assert.equal(r.status, 200);
  assert.equal(r.body.node, "laptop");
});

Deno.test("control API: no token and wrong token are 401 and name the token file", async () => {
  for (
    const auth of [undefined, "Bearer wrong_token_0123456789", `Basic ${TOKEN}`, `Bearer ${TOKEN}x`]
  ) {
    const headers: Record<string, string> = { host: good.host };
    if (auth) headers.authorization = auth;
    const r = await req("/v1/status", { headers });
    assert.equal(r.status, 401, String(auth));
    assert.equal(r.body.error.code, "unauthorized");
    assert.match(r.body.error.message, /\/state\/control\.token/);
    assert.match(r.headers.get("www-authenticate") ?? "", /Bearer/);
  }
});

Deno.test("control API: a Cmesh-HMAC request is served and its answer proves the token", async () => {
  const signed = signRequest(TOKEN, "GET", "/v1/status");
  const r = await req("/v1/status", { headers: { host: good.host, authorization: signed.header } });
  assert.equal(r.status, 200);
  assert.ok(proofHolds(TOKEN, signed.nonce, r.headers.get(PROOF_HEADER)));
  assert.equal(
    proofHolds("another_token_0123456789", signed.nonce, r.headers.get(PROOF_HEADER)),
    false,
  );
  // A Bearer request is served too, without a proof (the client asked for none).
  const bearer = await req("/v1/status", { headers: good });
  assert.equal(bearer.status, 200);
  assert.equal(bearer.headers.get(PROOF_HEADER), null);
  // The proof route answers only with the proof.
  const p = signRequest(TOKEN, "GET", "/v1/proof");
  const { app, store } = makeApp();
  try {
    const res = await app.request(`http://127.0.0.1:${PORT}/v1/proof`, {
      headers: { host: good.host, authorization: p.header },
    }, loopback);
    assert.equal(res.status, 204);
    assert.ok(proofHolds(TOKEN, p.nonce, res.headers.get(PROOF_HEADER)));
  } finally {
    store.close();
  }
});

Deno.test("control API: a Cmesh-HMAC made with another token, path or time is 401, unproven", async () => {
  const now = Date.now();
  const cases = [
    (signRequest("another_token_0123456789", "GET", "/v1/status")).header,
    (signRequest(TOKEN, "GET", "/v1/peers")).header, // signed for another path
    (signRequest(TOKEN, "POST", "/v1/status")).header, // another method
    (signRequest(TOKEN, "GET", "/v1/status", now - 10 * 60_000)).header, // too old
    "Cmesh-HMAC ts=1, nonce=zz, mac=00",
  ];
  for (const authorization of cases) {
    const r = await req("/v1/status", { headers: { host: good.host, authorization } });
    assert.equal(r.status, 401, authorization);
    assert.equal(r.body.error.code, "unauthorized");
    assert.equal(r.headers.get(PROOF_HEADER), null, "no proof for a request that proved nothing");
  }
});

Deno.test("control API: foreign Host headers are refused (DNS rebinding)", async () => {
  for (
    const host of ["evil.example:7434", "127.0.0.1:80", "localhost", "127.0.0.1.nip.io:7434", ""]
  ) {
    const r = await req("/v1/status", { headers: { ...good, host } });
    assert.equal(r.status, 403, host);
    assert.match(r.body.error.message, /DNS rebinding/);
  }
  for (const host of [`localhost:${PORT}`, `[::1]:${PORT}`]) {
    assert.equal((await req("/v1/status", { headers: { ...good, host } })).status, 200, host);
  }
});

Deno.test("control API: any browser Origin is refused, even with the token", async () => {
  for (const origin of ["http://127.0.0.1:7434", "https://evil.example", "null"]) {
    const r = await req("/v1/status", { headers: { ...good, origin } });
    assert.equal(r.status, 403);
    assert.match(r.body.error.message, /Origin/);
  }
});

Deno.test("control API: non-loopback sources are refused before the token is looked at", async () => {
  for (const hostname of ["100.64.0.2", "10.0.0.5", "::ffff:192.168.1.2", "fd7a:115c:a1e0::2"]) {
    const r = await req("/v1/status", { headers: good }, {
      remoteAddr: { transport: "tcp", hostname, port: 1 } as Deno.NetAddr,
    });
    assert.equal(r.status, 403, hostname);
    assert.match(r.body.error.message, /loopback/);
  }
});

Deno.test("control API: bodies are bounded, typed and strict", async () => {
  const post = (body: string, type = "application/json") =>
    req("/v1/delegate", { method: "POST", headers: { ...good, "content-type": type }, body });
  assert.equal((await post("x".repeat(2000))).status, 413);
  assert.equal((await post("{}", "text/plain")).status, 415);
  assert.equal((await post("{not json")).body.error.code, "invalid_json");
  const unknown = await post(JSON.stringify({ peer: "b", task: "t", cwd: "/srv/a", extra: 1 }));
  assert.equal(unknown.status, 400);
  assert.match(unknown.body.error.message, /extra: unknown key/);
  const relative = await post(JSON.stringify({ peer: "b", prompt: "t", cwd: "srv/a" }));
  assert.match(relative.body.error.message, /cwd: must be an absolute path/);
  for (const both of [{}, { prompt: "a", task: "b" }]) {
    const r = await post(JSON.stringify({ peer: "b", cwd: "/srv/a", ...both }));
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /prompt: give the prompt once, as prompt/);
  }
});

Deno.test("control API: the prompt is `prompt`; `task`, its old name, is still accepted", () => {
  for (const body of [{ prompt: "fix it" }, { task: "fix it" }]) {
    const parsed = DelegateBody.parse({ peer: "b", cwd: "/srv/a", ...body });
    assert.equal(parsed.prompt, "fix it");
    assert.ok(!("task" in parsed));
  }
});

Deno.test("control API: an outbound policy denial is a 403 naming the rule", async () => {
  const r = await req("/v1/delegate", {
    method: "POST",
    headers: { ...good, "content-type": "application/json" },
    body: JSON.stringify({ peer: "buildbox", prompt: "t", cwd: "/etc" }),
  });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, "denied");
  assert.equal(r.body.error.rule, "outbound.cwd");
  assert.match(r.body.error.message, /allowed cwd patterns: \/srv\/\*\*/);
});

Deno.test("control API: an unreachable peer is a 502 with the resolver's message", async () => {
  const r = await req("/v1/delegate", {
    method: "POST",
    headers: { ...good, "content-type": "application/json" },
    body: JSON.stringify({ peer: "buildbox", task: "t", cwd: "/srv/app" }),
  });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, "peer_unreachable");
  assert.match(r.body.error.message, /offline/);
});

Deno.test("control API: a signed request's sealed body is opened; one not sealed for it is a 400", async () => {
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const sealed = (body: Uint8Array, opts: { token?: string; path?: string } = {}) => {
    const signed = signRequest(TOKEN, "POST", "/v1/delegate");
    return {
      method: "POST",
      headers: { host: good.host, authorization: signed.header, "content-type": SEALED_TYPE },
      body: sealBody(opts.token ?? TOKEN, signed.nonce, "POST", opts.path ?? "/v1/delegate", body),
    };
  };
  // Opened, then read as any JSON body: the route's own answer (the outbound denial) comes back.
  const opened = await req(
    "/v1/delegate",
    sealed(json({ peer: "buildbox", prompt: "t", cwd: "/etc" })),
  );
  assert.equal(opened.status, 403);
  assert.equal(opened.body.error.rule, "outbound.cwd");
  for (
    const wrong of [
      sealed(json({ peer: "buildbox", prompt: "t", cwd: "/etc" }), {
        token: "another_token_0123456789",
      }),
      sealed(json({ peer: "buildbox", prompt: "t", cwd: "/etc" }), { path: "/v1/tasks" }),
    ]
  ) {
    const r = await req("/v1/delegate", wrong);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, "bad_request");
    assert.match(
      r.body.error.message,
      /not sealed for this request with this daemon's control token/,
    );
  }
  // The body limit holds for the opened body.
  const big = await req("/v1/delegate", sealed(json({ prompt: "x".repeat(2000) })));
  assert.equal(big.status, 413);
  // A sealed body needs a signed request (a bearer request has no nonce to open it with).
  const bearer = await req("/v1/delegate", {
    method: "POST",
    headers: { ...good, "content-type": SEALED_TYPE },
    body: new Uint8Array(64),
  });
  assert.equal(bearer.status, 415);
});

Deno.test("control API: malformed task ids and unknown routes are JSON 4xx", async () => {
  assert.equal((await req("/v1/tasks/..%2F..%2Fetc", { headers: good })).status, 400);
  assert.equal((await req("/v1/tasks/t_unknown_123", { headers: good })).status, 404);
  const r = await req("/v1/nope", { headers: good });
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, "not_found");
});

Deno.test("control API: the daemon has no way to bind the control API off loopback", async () => {
  // The listen address is not configurable: config has no key for it, and the daemon passes a
  // literal loopback hostname to Deno.serve.
  const { Config } = await import("../../src/config/schema.ts");
  assert.equal(Config.safeParse({ daemon: { control_host: "0.0.0.0" } }).success, false);
  const src = await Deno.readTextFile(new URL("../../src/daemon/main.ts", import.meta.url));
  const serves = [...src.matchAll(/Deno\.serve\(\s*\{\s*hostname:\s*([^,]+),/g)].map((m) =>
    m[1].trim()
  );
  assert.deepEqual(serves, ['"127.0.0.1"']);
});

Deno.test("control API: the shared front-door guard also refuses cross-site Sec-Fetch-Site", async () => {
  for (const site of ["cross-site", "same-site"]) {
    const r = await req("/v1/status", { headers: { ...good, "sec-fetch-site": site } });
    assert.equal(r.status, 403, site);
    assert.equal(r.body.error.rule, "front.origin");
  }
  const ok = await req("/v1/status", { headers: { ...good, "sec-fetch-site": "none" } });
  assert.equal(ok.status, 200);
});

Deno.test("control API: wait with=result carries the stored result once the task is terminal", async () => {
  const { app, store } = makeApp();
  try {
    const id = "t-wait-result-0001";
    insertTask(store, {
      direction: "outbound",
      id,
      peer: "buildbox",
      profile: "query",
      runner: "claude",
      cwd: "/srv/app",
      prompt: "look",
      request_hash: "h",
    });
    const ask = async (q: string) => {
      const res = await app.request(
        `http://127.0.0.1:${PORT}/v1/tasks/${id}/wait?after=0&timeout_s=0${q}`,
        { headers: good },
        loopback,
      );
      return { status: res.status, body: await res.json() };
    };
    assert.equal((await ask("&with=result")).body.result, undefined, "not terminal: no result");
    const result = taskResult({ id });
    saveResult(store, "outbound", id, result);
    updateTaskState(store, "outbound", id, "succeeded", { remote_state: "succeeded" });
    const withResult = await ask("&with=result");
    assert.equal(withResult.status, 200);
    assert.deepEqual(WaitAnswer.parse(withResult.body).result, result);
    assert.equal((await ask("")).body.result, undefined, "only when asked for");
    const bad = await ask("&with=everything");
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /with must be "result"/);
  } finally {
    store.close();
  }
});

Deno.test("control API: delegate's wait_s and until are checked before anything is sent", async () => {
  const post = (q: string) =>
    req(`/v1/delegate${q}`, {
      method: "POST",
      headers: { ...good, "content-type": "application/json" },
      body: JSON.stringify({ peer: "buildbox", prompt: "t", cwd: "/srv/app" }),
    });
  for (const q of ["?wait_s=61", "?wait_s=-1", "?wait_s=soon"]) {
    const r = await post(q);
    assert.equal(r.status, 400, q);
    assert.match(r.body.error.message, /wait_s must be 0\.\.60/);
  }
  const until = await post("?wait_s=5&until=forever");
  assert.equal(until.status, 400);
  assert.match(until.body.error.message, /until must be "terminal"/);
  // A good wait on a delegation that fails is the delegation's own answer.
  assert.equal((await post("?wait_s=5&until=terminal")).status, 502);
});
