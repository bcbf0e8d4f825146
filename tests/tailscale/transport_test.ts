import assert from "node:assert/strict";
import {
  createLocalApiTransport,
  defaultSocketPath,
  LOCALAPI_HOST,
  LocalApiBadResponse,
  LocalApiUnavailable,
  parseLocalApiUrl,
  requestEndpoint,
} from "../../src/tailscale/transport.ts";
import type { MacDiscoveryDeps } from "../../src/tailscale/macos.ts";
import { freePort } from "../support/daemon.ts";
import { startRawServer } from "../support/localapi_raw.ts";
import { startLocalApiDouble } from "../support/localapi_double.ts";

const OK_JSON = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

Deno.test("request line and headers are exactly what tailscaled accepts", async () => {
  const srv = await startRawServer(() => OK_JSON);
  try {
    const t = createLocalApiTransport({ socket: srv.socketPath });
    const res = await t.get("/localapi/v0/whois?addr=100.64.0.2%3A1");
    assert.equal(res.status, 200);
    assert.equal(new TextDecoder().decode(res.body), "{}");
    const head = srv.received[0];
    const lines = head.split("\r\n");
    assert.equal(lines[0], "GET /localapi/v0/whois?addr=100.64.0.2%3A1 HTTP/1.1"); // origin-form
    const names = lines.slice(1).filter((l) => l !== "").map((l) => l.split(":")[0].toLowerCase());
    assert.ok(lines.includes(`Host: ${LOCALAPI_HOST}`), head);
    assert.equal(names.filter((n) => n === "host").length, 1);
    assert.ok(!names.includes("origin") && !names.includes("referer"), head);
    assert.ok(!names.includes("authorization"), "no auth on the unix socket");
    assert.ok(lines.includes("Connection: close"));
  } finally {
    await srv.stop();
  }
});

Deno.test("chunked, Content-Length and read-to-close bodies", async () => {
  const bodies: Record<string, string> = {
    "/chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
    "/length": "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "/eof": "HTTP/1.0 200 OK\r\n\r\nuntil close",
    "/interim":
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno\n",
    "/lf": "HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
  };
  const srv = await startRawServer((head) => bodies[head.split(" ")[1]]);
  try {
    const t = createLocalApiTransport({ socket: srv.socketPath });
    const text = async (p: string) => new TextDecoder().decode((await t.get(p)).body);
    assert.equal(await text("/chunked"), "hello world");
    assert.equal(await text("/length"), "hello");
    assert.equal(await text("/eof"), "until close");
    const interim = await t.get("/interim");
    assert.equal(interim.status, 404);
    assert.equal(new TextDecoder().decode(interim.body), "no\n");
    assert.equal(await text("/lf"), "ok");
  } finally {
    await srv.stop();
  }
});

Deno.test("oversize and malformed responses are bad_response", async () => {
  const big = "x".repeat(2000);
  const replies: Record<string, string> = {
    "/length": `HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n${big}`,
    "/chunked": `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n${big}\r\n0\r\n\r\n`,
    "/eof": `HTTP/1.1 200 OK\r\n\r\n${big}`,
    "/garbage": "SSH-2.0-OpenSSH_9.6\r\n\r\n",
    "/badlen": "HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nab",
    "/gzip": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    "/badchunk": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "/hugehead": `HTTP/1.1 200 OK\r\nX-Big: ${"y".repeat(70 * 1024)}\r\n\r\n`,
  };
  const srv = await startRawServer((head) => replies[head.split(" ")[1]]);
  try {
    const t = createLocalApiTransport({ socket: srv.socketPath });
    for (const path of Object.keys(replies)) {
      await assert.rejects(
        () => t.get(path, { maxBodyBytes: 1000 }),
        (e) => e instanceof LocalApiBadResponse && e.code === "bad_response",
        path,
      );
    }
    const err = await t.get("/length", { maxBodyBytes: 1000 }).catch((e) => e);
    assert.match(err.message, /exceeds 1000 bytes/);
  } finally {
    await srv.stop();
  }
});

Deno.test("connection closed mid-body is unavailable", async () => {
  const srv = await startRawServer(() => "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
  try {
    const t = createLocalApiTransport({ socket: srv.socketPath });
    await assert.rejects(
      () => t.get("/x"),
      (e) => e instanceof LocalApiUnavailable && /closed the connection/.test(e.message),
    );
  } finally {
    await srv.stop();
  }
});

Deno.test("hang → timeout names the socket and the limit", async () => {
  const srv = await startRawServer(() => "hang");
  try {
    const t = createLocalApiTransport({ socket: srv.socketPath });
    // The server never answers: only the timeout can end this request.
    const err = await t.get("/x", { timeoutMs: 150 }).catch((e) => e);
    assert.ok(err instanceof LocalApiUnavailable, String(err));
    assert.match(err.message, /did not answer within 150 ms/);
    assert.ok(err.message.includes(srv.socketPath));
  } finally {
    await srv.stop();
  }
});

Deno.test("caller abort stops the request", async () => {
  const srv = await startRawServer(() => "hang");
  try {
    const t = createLocalApiTransport({ socket: srv.socketPath });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err = await t.get("/x", { signal: ac.signal, timeoutMs: 5000 }).catch((e) => e);
    assert.ok(err instanceof LocalApiUnavailable);
    assert.match(err.message, /cancelled/);
  } finally {
    await srv.stop();
  }
});

Deno.test("missing socket and stale socket file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = `${dir}/nope.sock`;
    const err = await createLocalApiTransport({ socket: missing }).get("/x").catch((e) => e);
    assert.ok(err instanceof LocalApiUnavailable);
    assert.equal(err.code, "unavailable");
    assert.equal(err.stage, "connect");
    assert.equal(
      err.message,
      `tailscaled LocalAPI socket ${missing} not found: is tailscaled running? ` +
        `(set tailscale.socket in config.toml if it lives elsewhere)`,
    );

    // A socket file nobody listens on any more: a process that bound it and died. (Closing a
    // Deno listener unlinks the file, so let a child exit without closing.)
    const stale = `${dir}/stale.sock`;
    const child = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `Deno.listen({ transport: "unix", path: ${JSON.stringify(stale)} }); Deno.exit(0);`,
      ],
    }).output();
    assert.ok(child.success);
    assert.ok((await Deno.lstat(stale)).isSocket);
    const err2 = await createLocalApiTransport({ socket: stale }).get("/x").catch((e) => e);
    assert.ok(err2 instanceof LocalApiUnavailable);
    assert.match(err2.message, /refused the connection: tailscaled is not running/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("missing Deno permission for the socket says which permission", async () => {
  const srv = await startRawServer(() => OK_JSON);
  try {
    const script = `
      import { createLocalApiTransport } from ${
      JSON.stringify(new URL("../../src/tailscale/transport.ts", import.meta.url).href)
    };
      const err = await createLocalApiTransport({ socket: ${
      JSON.stringify(srv.socketPath)
    } }).get("/x").catch((e) => e);
      console.log(JSON.stringify({ name: err?.name, message: err?.message }));
    `;
    // `deno eval` grants everything; `deno run` on a file honours the flags.
    const file = await Deno.makeTempFile({ suffix: ".ts" });
    await Deno.writeTextFile(file, script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--no-config", "--allow-read", "--allow-write", file],
      cwd: new URL("../..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output().finally(() => Deno.remove(file));
    const line = new TextDecoder().decode(out.stdout).trim();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const err = JSON.parse(line);
    assert.equal(err.name, "LocalApiUnavailable");
    assert.match(err.message, /Deno permission missing for the LocalAPI socket/);
    assert.ok(err.message.includes(`net "unix:${srv.socketPath}"`));
  } finally {
    await srv.stop();
  }
});

Deno.test("tcp transport sends Basic auth with an empty user and tsnet's Sec header", async () => {
  const api = await startLocalApiDouble({
    tcpPort: 0,
    password: "0123456789abcdef0123",
    self: { name: "worker", ips: ["100.64.0.1"], tags: ["tag:worker"] },
  });
  try {
    const t = createLocalApiTransport({ url: api.url!, token: "0123456789abcdef0123" });
    const res = await t.get("/localapi/v0/status");
    assert.equal(res.status, 200);
    const h = api.requests.at(-1)!.headers;
    assert.equal(h.authorization, `Basic ${btoa(":0123456789abcdef0123")}`);
    assert.equal(h.host, LOCALAPI_HOST);
    assert.equal(h["sec-tailscale"], "localapi");

    const wrong = await createLocalApiTransport({ url: api.url!, token: "nope" }).get(
      "/localapi/v0/status",
    );
    assert.equal(wrong.status, 403);
    const none = await createLocalApiTransport({ url: api.url! }).get("/localapi/v0/status");
    assert.equal(none.status, 401);
  } finally {
    await api.stop();
  }
});

Deno.test("tcp transport: refused port is unavailable", async () => {
  // Claimed for this test process, so no other test module's daemon listens there meanwhile.
  const port = freePort();
  const err = await requestEndpoint(
    { transport: "tcp", hostname: "127.0.0.1", port, token: null, source: "test" },
    "/x",
  ).catch((e) => e);
  assert.ok(err instanceof LocalApiUnavailable);
  assert.match(err.message, /nothing is listening/);
});

Deno.test("parseLocalApiUrl accepts loopback only", () => {
  assert.deepEqual(parseLocalApiUrl("http://127.0.0.1:41112", "t"), {
    transport: "tcp",
    hostname: "127.0.0.1",
    port: 41112,
    token: "t",
    source: "tailscale.localapi_url",
  });
  assert.equal(parseLocalApiUrl("http://localhost:1").hostname, "127.0.0.1");
  assert.equal(parseLocalApiUrl("http://[::1]:1/").hostname, "::1");
  for (
    const bad of [
      "https://127.0.0.1:1",
      "http://100.64.0.1:1",
      "http://example.com:1",
      "http://127.0.0.1",
      "http://127.0.0.1:1/localapi",
      "http://u:p@127.0.0.1:1",
      "127.0.0.1:1",
    ]
  ) {
    assert.throws(() => parseLocalApiUrl(bad), TypeError, bad);
  }
});

Deno.test("per-OS defaults", () => {
  assert.equal(defaultSocketPath("linux"), "/var/run/tailscale/tailscaled.sock");
  assert.equal(defaultSocketPath("freebsd"), "/var/run/tailscale/tailscaled.sock");
  assert.equal(defaultSocketPath("darwin"), "/var/run/tailscaled.socket");
  assert.equal(defaultSocketPath("windows"), null);
  assert.equal(
    createLocalApiTransport({ os: "linux" }).describe(),
    "unix socket /var/run/tailscale/tailscaled.sock",
  );
  // Windows: the tailscale CLI at the installer's location (tailscaled's named pipe needs
  // all Deno permissions, see cli_transport.ts).
  assert.equal(
    createLocalApiTransport({ os: "windows" }).describe(),
    "tailscale CLI C:\\Program Files\\Tailscale\\tailscale.exe",
  );
  assert.throws(
    () => createLocalApiTransport({ os: "windows", transport: "localapi" }),
    /named pipe .*tailscale.transport = "cli"/,
  );
  assert.throws(
    () => createLocalApiTransport({ os: "linux", transport: "cli" }),
    /needs tailscale.cli_path/,
  );
  assert.equal(
    createLocalApiTransport({ os: "linux", transport: "cli", cli: "/usr/bin/tailscale" })
      .describe(),
    "tailscale CLI /usr/bin/tailscale",
  );
  // explicit settings win on any OS
  assert.equal(
    createLocalApiTransport({ os: "windows", socket: "/s" }).describe(),
    "unix socket /s",
  );
});

function fakeMac(over: Partial<MacDiscoveryDeps>): MacDiscoveryDeps {
  return {
    exists: () => Promise.resolve(false),
    readLink: () => Promise.reject(new Deno.errors.NotFound("x")),
    readTextFile: () => Promise.reject(new Deno.errors.NotFound("x")),
    runLsof: () => Promise.resolve(""),
    ...over,
  };
}

Deno.test("macOS: falls back from the socket to the standalone app's port + token", async () => {
  const api = await startLocalApiDouble({
    tcpPort: 0,
    password: "feedfacefeedfacefeed",
    self: { name: "mac", ips: ["100.64.0.5"], login: "alice@example.com" },
  });
  try {
    const port = String(new URL(api.url!).port);
    const t = createLocalApiTransport({
      os: "darwin",
      macDeps: fakeMac({
        readLink: (p) =>
          p === "/Library/Tailscale/ipnport" ? Promise.resolve(port) : Promise.reject(new Error(p)),
        readTextFile: (p) =>
          p === `/Library/Tailscale/sameuserproof-${port}`
            ? Promise.resolve("feedfacefeedfacefeed\n")
            : Promise.reject(new Error(p)),
      }),
    });
    const res = await t.get("/localapi/v0/status");
    assert.equal(res.status, 200);
    assert.match(t.describe(), new RegExp(`127\\.0\\.0\\.1:${port}`));
  } finally {
    await api.stop();
  }
});

Deno.test("macOS: App Store extension via lsof", async () => {
  const api = await startLocalApiDouble({
    tcpPort: 0,
    password: "2ae2ec9e0aa2005784f1",
    self: { name: "mac", ips: ["100.64.0.5"], login: "alice@example.com" },
  });
  try {
    const port = new URL(api.url!).port;
    const lsof = `p812\ncIPNExtension\nf7\nn/Users/alice/Library/Group Containers/` +
      `io.tailscale.ipn.macos/sameuserproof-${port}-2ae2ec9e0aa2005784f1\n`;
    const t = createLocalApiTransport({
      os: "darwin",
      macDeps: fakeMac({ runLsof: () => Promise.resolve(lsof) }),
    });
    assert.equal((await t.get("/localapi/v0/status")).status, 200);
  } finally {
    await api.stop();
  }
});

Deno.test("macOS: nothing found lists every place it looked", async () => {
  const t = createLocalApiTransport({
    os: "darwin",
    macDeps: fakeMac({ runLsof: () => Promise.resolve(null) }),
  });
  const err = await t.get("/localapi/v0/status").catch((e) => e);
  assert.ok(err instanceof LocalApiUnavailable);
  assert.match(err.message, /no tailscaled LocalAPI found on this Mac/);
  assert.match(err.message, /\/var\/run\/tailscaled\.socket does not exist/);
  assert.match(err.message, /\/Library\/Tailscale\/ipnport: not found/);
  assert.match(err.message, /could not run lsof/);
});
