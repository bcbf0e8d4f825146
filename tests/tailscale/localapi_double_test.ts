/**
 * The LocalAPI double's own wire behaviour, checked with raw bytes so it cannot drift from
 * tailscaled's (`ipn/localapi/localapi.go`) without a test failing.
 */
import assert from "node:assert/strict";
import {
  goCanonicalAddr,
  type LocalApiDouble,
  startLocalApiDouble,
} from "../support/localapi_double.ts";
import {
  buildPeerStatus,
  buildStatus,
  buildWhoisResponse,
  tailscaledJson,
} from "../support/localapi_fixtures.ts";
import { rawRequest, splitRawResponse } from "../support/localapi_raw.ts";
import { LocalApiClient } from "../../src/tailscale/localapi.ts";

const SELF = { name: "worker", ips: ["100.64.0.1", "fd7a:115c:a1e0::1"], tags: ["tag:worker"] };
const LAPTOP = {
  name: "laptop",
  ips: ["100.64.0.2", "fd7a:115c:a1e0::2"],
  login: "alice@example.com",
};

const get = (path: string, headers: string[] = ["Host: local-tailscaled.sock"]) =>
  `GET ${path} HTTP/1.1\r\n${headers.map((h) => `${h}\r\n`).join("")}Connection: close\r\n\r\n`;

async function withDouble(
  fn: (
    api: LocalApiDouble,
    send: (req: string) => Promise<ReturnType<typeof splitRawResponse>>,
  ) => Promise<void>,
  extra: Partial<Parameters<typeof startLocalApiDouble>[0]> = {},
) {
  const api = await startLocalApiDouble({ self: SELF, nodes: [LAPTOP], ...extra });
  const target = api.socketPath ?? Number(new URL(api.url!).port);
  try {
    await fn(api, async (req) => splitRawResponse(await rawRequest(target, req)));
  } finally {
    await api.stop();
  }
}

Deno.test("double: Host, Origin and Referer rules (403 invalid localapi request)", () =>
  withDouble(async (_api, send) => {
    const forbidden = [
      get("/localapi/v0/status", ["Host: localhost"]),
      get("/localapi/v0/status", ["Host: localhost:41112"]),
      get("/localapi/v0/status", ["Host: 127.0.0.1:80"]),
      get("/localapi/v0/status", ["Host: local-tailscaled.sock", "Origin: http://evil.example"]),
      get("/localapi/v0/status", ["Host: local-tailscaled.sock", "Referer: http://evil.example/"]),
      // absolute-form: Go takes the host from the URL, not the header
      get("http://evil.example/localapi/v0/status", ["Host: local-tailscaled.sock"]),
    ];
    for (const req of forbidden) {
      const r = await send(req);
      assert.equal(r.status, 403, req);
      assert.equal(r.body, "invalid localapi request\n");
      assert.equal(r.headers["content-type"], "text/plain; charset=utf-8");
      assert.equal(r.headers["x-content-type-options"], "nosniff");
      assert.equal(
        r.headers["tailscale-version"],
        undefined,
        "rejected before the version headers",
      );
    }
    const allowed = [
      get("/localapi/v0/status"),
      get("/localapi/v0/status", ["Host:"]),
      get("http://local-tailscaled.sock/localapi/v0/status", ["Host: whatever"]),
    ];
    for (const req of allowed) {
      const r = await send(req);
      assert.equal(r.status, 200, req);
      assert.equal(r.headers["tailscale-cap"], "130");
      assert.ok(r.headers["tailscale-version"]);
    }
  }));

Deno.test("double: whois 400s, 404 and 200 bodies", () =>
  withDouble(async (_api, send) => {
    const cases: Array<[string, number, string]> = [
      ["/localapi/v0/whois", 400, "missing 'addr' parameter\n"],
      ["/localapi/v0/whois?addr=", 400, "missing 'addr' parameter\n"],
      ["/localapi/v0/whois?addr=bogus", 400, "invalid 'addr' parameter\n"],
      ["/localapi/v0/whois?addr=100.64.0.2%3A99999", 400, "invalid 'addr' parameter\n"],
      ["/localapi/v0/whois?addr=%5B100.64.0.2%5D%3A1", 400, "invalid 'addr' parameter\n"],
      ["/localapi/v0/whois?addr=fd7a%3A%3A2%3A80", 404, "no match for IP:port\n"], // a bare v6 parses as an IP
      ["/localapi/v0/whois?addr=nodekey%3Azz", 400, "invalid nodekey in 'addr' parameter\n"],
      ["/localapi/v0/whois?addr=100.64.0.9", 404, "no match for IP:port\n"],
      ["/localapi/v0/whois?addr=100.64.0.9%3A1", 404, "no match for IP:port\n"],
      // tailscaled < 1.102 does not un-map
      ["/localapi/v0/whois?addr=%3A%3Affff%3A100.64.0.2", 404, "no match for IP:port\n"],
      ["/localapi/v0/whois?addr=%5B%3A%3Affff%3A100.64.0.2%5D%3A1", 404, "no match for IP:port\n"],
    ];
    for (const [path, status, body] of cases) {
      const r = await send(get(path));
      assert.equal(r.status, status, path);
      assert.equal(r.body, body, path);
      assert.equal(r.headers["content-type"], "text/plain; charset=utf-8", path);
    }
    for (
      const addr of [
        "100.64.0.2",
        "100.64.0.2:41641",
        "[fd7a:115c:a1e0::2]:443",
        "fd7a:115c:a1e0:0::2",
      ]
    ) {
      const r = await send(get(`/localapi/v0/whois?addr=${encodeURIComponent(addr)}`));
      assert.equal(r.status, 200, addr);
      assert.equal(r.headers["content-type"], "application/json");
      assert.equal(r.body, tailscaledJson(buildWhoisResponse(LAPTOP)), addr);
    }
  }));

Deno.test("double: un-maps with unmapMapped (tailscaled >= 1.102) and finds by nodekey", () =>
  withDouble(async (_api, send) => {
    const r = await send(
      get(`/localapi/v0/whois?addr=${encodeURIComponent("[::ffff:100.64.0.2]:1")}`),
    );
    assert.equal(r.status, 200);
    const key = (buildWhoisResponse(LAPTOP).Node as Record<string, unknown>).Key as string;
    const byKey = await send(get(`/localapi/v0/whois?addr=${encodeURIComponent(key)}`));
    assert.equal(byKey.status, 200);
    assert.ok(byKey.body.includes('"Name": "laptop.tail4c2e1.ts.net."'));
  }, { unmapMapped: true }));

Deno.test("double: JSON is tab-indented Go style with big bare integers", () =>
  withDouble(async (_api, send) => {
    const r = await send(get("/localapi/v0/whois?addr=100.64.0.2"));
    assert.ok(r.body.startsWith('{\n\t"Node": {\n\t\t"ID": '), r.body.slice(0, 40));
    assert.ok(!r.body.endsWith("\n"), "whois uses MarshalIndent: no trailing newline");
    const id = /"ID": (\d+),/.exec(r.body)![1];
    assert.ok(BigInt(id) > BigInt(Number.MAX_SAFE_INTEGER), id);
    assert.ok(r.body.includes('"CapMap": null'));

    const s = await send(get("/localapi/v0/status"));
    assert.equal(s.status, 200);
    assert.equal(s.headers["transfer-encoding"], "chunked", "Go chunks bodies over 2 KiB");
  }));

Deno.test("double: Go escapes <, > and & in JSON strings", () => {
  const text = tailscaledJson({ a: "<b>&", n: 2n ** 63n - 1n });
  assert.equal(text, '{\n\t"a": "\\u003cb\\u003e\\u0026",\n\t"n": 9223372036854775807\n}');
});

Deno.test("double: status, peers=false, other paths", () =>
  withDouble(async (_api, send) => {
    const s = await send(get("/localapi/v0/status"));
    const full = tailscaledJson(buildStatus({ self: SELF, peers: [LAPTOP] })) + "\n";
    // chunked framing: de-chunk the raw body
    let body = "";
    let rest = s.body;
    for (;;) {
      const nl = rest.indexOf("\r\n");
      const size = parseInt(rest.slice(0, nl), 16);
      if (size === 0) break;
      body += rest.slice(nl + 2, nl + 2 + size);
      rest = rest.slice(nl + 2 + size + 2);
    }
    assert.equal(body, full);

    const noPeers = await send(get("/localapi/v0/status?peers=false"));
    assert.ok(noPeers.body.includes('"Peer": null'));

    const root = await send(get("/"));
    assert.equal(root.body, "tailscaled\n");
    for (const p of ["/localapi/v0/nope", "/localapi/v1/status", "/status", "/localapi/v0/"]) {
      const r = await send(get(p));
      assert.equal(r.status, 404, p);
      assert.equal(r.body, "404 page not found\n", p);
    }
  }));

Deno.test("double: read permission off → 403 access denied", () =>
  withDouble(async (_api, send) => {
    const w = await send(get("/localapi/v0/whois?addr=100.64.0.2"));
    assert.equal(w.status, 403);
    assert.equal(w.body, "whois access denied\n");
    const s = await send(get("/localapi/v0/status"));
    assert.equal(s.body, "status access denied\n");
  }, { permitRead: false }));

Deno.test("double: password mode (macOS GUI / tsnet) checks Basic auth and allows loopback hosts", () =>
  withDouble(async (_api, send) => {
    const auth = `Authorization: Basic ${btoa(":pw")}`;
    assert.equal((await send(get("/", ["Host: local-tailscaled.sock"]))).status, 401);
    assert.equal((await send(get("/", ["Host: local-tailscaled.sock"]))).body, "auth required\n");
    const wrong = await send(
      get("/", ["Host: local-tailscaled.sock", `Authorization: Basic ${btoa(":no")}`]),
    );
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body, "bad password\n");
    for (const host of ["local-tailscaled.sock", "localhost:8080", "127.0.0.1:1", "[::1]:1"]) {
      assert.equal((await send(get("/", [`Host: ${host}`, auth]))).status, 200, host);
    }
    for (const host of ["localhost", "example.com:80", "100.64.0.1:80"]) {
      assert.equal((await send(get("/", [`Host: ${host}`, auth]))).status, 403, host);
    }
  }, { tcpPort: 0, password: "pw" }));

Deno.test("double: injected failures, raw responses and hangs apply once", () =>
  withDouble(async (api, send) => {
    api.failNext(500);
    let r = await send(get("/localapi/v0/status"));
    assert.equal(r.status, 500);
    assert.equal(r.body, "server has no local backend\n");
    api.respondNext({ status: 200, body: "{oops" });
    r = await send(get("/localapi/v0/status"));
    assert.equal(r.body, "{oops");
    api.hang(150);
    const t0 = performance.now();
    r = await send(get("/"));
    assert.ok(performance.now() - t0 >= 140);
    assert.equal(r.status, 200);
    assert.equal((await send(get("/localapi/v0/whois?addr=100.64.0.2"))).status, 200);
    assert.equal(api.requests.length, 4);
  }));

Deno.test("fixtures: field names and order match the tailscaled samples", async () => {
  const read = async (n: string) =>
    JSON.parse(await Deno.readTextFile(new URL(`../testdata/tailscale/${n}`, import.meta.url)));
  const keys = (o: unknown) => Object.keys(o as Record<string, unknown>);

  const user = await read("whois-user.json");
  const builtUser = buildWhoisResponse({
    name: "alice-mbp",
    ips: ["100.101.21.37"],
    login: "alice@example.com",
  });
  assert.deepEqual(keys(builtUser), keys(user));
  // The sample's Endpoints is optional and left out by the builder.
  assert.deepEqual(keys(builtUser.Node), keys(user.Node).filter((k) => k !== "Endpoints"));
  assert.deepEqual(
    keys(builtUser.UserProfile),
    keys(user.UserProfile).filter((k) => k !== "ProfilePicURL"),
  );

  const tagged = await read("whois-tagged.json");
  const builtTagged = buildWhoisResponse({
    name: "ci-runner-3",
    ips: ["100.77.3.9"],
    tags: ["tag:ci"],
  });
  assert.deepEqual(keys(builtTagged.Node), keys(tagged.Node));
  assert.deepEqual(builtTagged.UserProfile, { ...tagged.UserProfile, ID: 9876543210987n });

  const status = await read("status.json");
  const builtStatus = buildStatus({
    self: { name: "worker-1", ips: ["100.88.12.7"], tags: ["tag:worker"] },
    peers: [{ name: "alice-mbp", ips: ["100.101.21.37"], login: "alice@example.com" }],
  });
  assert.deepEqual(keys(builtStatus), keys(status));
  assert.deepEqual(keys(builtStatus.Self), keys(status.Self));
  const [alicePeer, ciPeer] = Object.values(status.Peer);
  assert.deepEqual(keys(buildPeerStatus({ name: "a", ips: [], login: "a@b" })), keys(alicePeer));
  assert.deepEqual(keys(buildPeerStatus({ name: "c", ips: [], tags: ["tag:ci"] })), keys(ciPeer));
  assert.throws(() => buildWhoisResponse({ name: "x", ips: [] }), TypeError);
});

Deno.test("goCanonicalAddr is independent of src/tailscale/addr.ts and agrees on basics", () => {
  assert.equal(goCanonicalAddr("FD7A:115C:A1E0:0:0:0:0:2"), "fd7a:115c:a1e0::2");
  assert.equal(goCanonicalAddr("100.064.0.2"), null);
  assert.equal(goCanonicalAddr("::ffff:100.64.0.2"), "::ffff:6440:2");
  assert.equal(goCanonicalAddr("fe80::1%eth0"), "fe80::1");
  assert.equal(goCanonicalAddr("nope"), null);
});

Deno.test("double: standalone process prints a ready line, reloads on SIGHUP, exits on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  const socket = `${dir}/tailscaled.sock`;
  const config = `${dir}/nodes.json`;
  await Deno.writeTextFile(config, JSON.stringify({ self: SELF, nodes: [LAPTOP] }));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../support/localapi_double.ts", import.meta.url).pathname,
      "--socket",
      socket,
      "--config",
      config,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const ready = JSON.parse(out.split("\n")[0]);
    assert.equal(ready.ready, true);
    assert.equal(ready.socket, socket);

    const client = LocalApiClient.create({ socket });
    assert.ok((await client.whois("100.64.0.2", 1)).ok);

    await Deno.writeTextFile(config, JSON.stringify({ self: SELF, nodes: [] }));
    child.kill("SIGHUP");
    let gone = false;
    for (let i = 0; i < 50 && !gone; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const r = await client.whois("100.64.0.2", 1);
      gone = !r.ok && r.code === "not_found";
    }
    assert.ok(gone, "reload took effect");

    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0);
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    assert.equal(await Deno.lstat(socket).then(() => true, () => false), false, "socket removed");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await Deno.remove(dir, { recursive: true });
  }
});
