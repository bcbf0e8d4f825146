import assert from "node:assert/strict";
import { Config } from "../../src/config/schema.ts";
import { resolveLocalApi } from "../../src/daemon/worker_setup.ts";

const ts = (over: Record<string, unknown> = {}) => Config.parse({ tailscale: over }).tailscale;

Deno.test("resolveLocalApi: the worker gets exactly the LocalAPI endpoint it will use", async () => {
  assert.deepEqual((await resolveLocalApi(ts(), true)).access, { transport: "none" });
  const linux = await resolveLocalApi(ts(), false, "linux");
  assert.deepEqual(linux.access, { transport: "unix", path: "/var/run/tailscale/tailscaled.sock" });
  assert.equal(linux.tailscale.socket, "/var/run/tailscale/tailscaled.sock");
  const custom = await resolveLocalApi(ts({ socket: "/run/ts/ts.sock" }), false, "darwin");
  assert.deepEqual(custom.access, { transport: "unix", path: "/run/ts/ts.sock" });
  const url = await resolveLocalApi(
    ts({ localapi_url: "http://127.0.0.1:41112", localapi_token: "x" }),
    false,
  );
  assert.deepEqual(url.access, { transport: "tcp", host: "127.0.0.1", port: 41112 });
});
