/**
 * @module
 * Tests of the in-sandbox half of `model` egress (pure): which loopback listeners a run gets,
 * the proxy environment, and the refusal of paths socat or a unix socket cannot take.
 */
import assert from "node:assert/strict";
import {
  EgressSetupError,
  forwarderPlan,
  PROXY_PORT,
} from "../../../../src/runner/sandbox/egress/forwarder.ts";

const DIR = "/var/lib/cmesh/egress/ab12cd34";

Deno.test("names go through the proxy; loopback destinations also get a direct tunnel", () => {
  const plan = forwarderPlan({
    destinations: [
      { host: "api.anthropic.com", port: 443 },
      { host: "127.0.0.1", port: 41234 },
      { host: "localhost", port: 5000 },
      { host: "127.0.0.1", port: 443 }, // privileged: proxy only
      { host: "::1", port: 8080 }, // IPv6: proxy only
    ],
    socketDir: DIR,
    socat: "/usr/bin/socat",
  });
  assert.deepEqual(plan.listeners, [
    { kind: "proxy", socket: `${DIR}/p.sock` },
    { kind: "tunnel", socket: `${DIR}/t0.sock`, destination: { host: "127.0.0.1", port: 41234 } },
    { kind: "tunnel", socket: `${DIR}/t1.sock`, destination: { host: "localhost", port: 5000 } },
  ]);
  assert.equal(plan.proxyPort, PROXY_PORT);
  assert.equal(plan.env.HTTPS_PROXY, `http://127.0.0.1:${PROXY_PORT}`);
  assert.equal(plan.env.http_proxy, `http://127.0.0.1:${PROXY_PORT}`);
  assert.equal(plan.env.NO_PROXY, "127.0.0.1,localhost");
  assert.equal(plan.env.ALL_PROXY, "");
  assert.deepEqual(plan.binds, [{ source: DIR, dest: DIR, writable: false }]);
  const [sh, dashC, script, name] = plan.wrapper;
  assert.deepEqual([sh, dashC, name], ["/bin/sh", "-c", "cmesh-egress"]);
  assert.match(
    script,
    /'\/usr\/bin\/socat' TCP-LISTEN:3128,bind=127\.0\.0\.1,[^ ]* UNIX-CONNECT:\/var\/lib\/cmesh\/egress\/ab12cd34\/p\.sock/,
  );
  assert.match(script, /TCP-LISTEN:41234,bind=127\.0\.0\.1,/);
  assert.match(script, /TCP-LISTEN:5000,bind=127\.0\.0\.1,/);
  // Waits for every listener (127.0.0.1:3128 = 0100007F:0C38), then execs the runner.
  assert.match(script, /until ready '0100007F:0C38 00000000:0000 0A' '0100007F:A112 [^\n]*; do/);
  assert.match(script, /done < \/proc\/net\/tcp/);
  assert.match(script, /exec "\$@"$/);
});

Deno.test("the proxy port moves when a loopback destination uses 3128", () => {
  const plan = forwarderPlan({
    destinations: [{ host: "127.0.0.1", port: 3128 }, { host: "127.0.0.1", port: 3129 }],
    socketDir: DIR,
    socat: "/usr/bin/socat",
  });
  assert.equal(plan.proxyPort, 3130);
  assert.equal(plan.env.HTTPS_PROXY, "http://127.0.0.1:3130");
});

Deno.test("paths socat would misread, or too long for a unix socket, are refused", () => {
  assert.throws(
    () =>
      forwarderPlan({ destinations: [], socketDir: "/var/lib/c,mesh/eg", socat: "/usr/bin/socat" }),
    (e) => e instanceof EgressSetupError && /daemon\.state_dir/.test(e.message),
  );
  assert.throws(
    () =>
      forwarderPlan({
        destinations: [],
        socketDir: `/${"x".repeat(110)}`,
        socat: "/usr/bin/socat",
      }),
    (e) => e instanceof EgressSetupError && /107 bytes/.test(e.message),
  );
});
