import assert from "node:assert/strict";
import { Config } from "../../src/config/schema.ts";
import { resolveLocalApi } from "../../src/daemon/worker_setup.ts";
import { workerPermissions } from "../../src/daemon/worker_permissions.ts";

const ts = (over: Record<string, unknown> = {}) => Config.parse({ tailscale: over }).tailscale;

Deno.test("resolveLocalApi: the daemon gets exactly the LocalAPI endpoint it will use", async () => {
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

Deno.test("resolveLocalApi: the tailscale CLI transport; the worker thread may not run it", async () => {
  const win = await resolveLocalApi(ts(), false, "windows");
  assert.deepEqual(win.access, {
    transport: "cli",
    binary: "C:\\Program Files\\Tailscale\\tailscale.exe",
  });
  assert.equal(win.tailscale.transport, "cli");
  const explicit = await resolveLocalApi(
    ts({ transport: "cli", cli_path: "/opt/ts/tailscale" }),
    false,
    "linux",
  );
  assert.deepEqual(explicit.access, { transport: "cli", binary: "/opt/ts/tailscale" });
  // A socket set on Windows is an explicit choice and wins over the CLI default.
  assert.equal(
    (await resolveLocalApi(ts({ socket: "/s" }), false, "windows")).access.transport,
    "unix",
  );
  const perms = workerPermissions({
    bind: ["100.64.0.2"],
    port: 7433,
    stateDir: "/var/lib/cmesh",
    roots: [],
    runBinaries: [],
    tools: { gitBin: null, killBin: "/usr/bin/kill", psBin: "/usr/bin/ps" },
  });
  // The main thread runs it (worker/identity_port.ts): the worker thread's run list lacks it.
  assert.ok(!perms.run.includes("/opt/ts/tailscale"));
  assert.ok(!perms.read.includes("/opt/ts/tailscale"));
  assert.deepEqual(perms.net, ["100.64.0.2:7433"]);
});

Deno.test("worker permissions: the sandbox binary may be run (and read), nothing else added", () => {
  const base = {
    bind: ["100.64.0.2"],
    port: 7433,
    stateDir: "/var/lib/cmesh",
    roots: [],
    runBinaries: ["/usr/bin/claude"],
    tools: { gitBin: "/usr/bin/git", killBin: "/usr/bin/kill", psBin: "/usr/bin/ps" },
  };
  const sandboxed = workerPermissions({ ...base, sandboxBin: "/usr/bin/bwrap" });
  assert.deepEqual(sandboxed.run, [
    "/usr/bin/claude",
    "/usr/bin/kill",
    "/usr/bin/ps",
    "/usr/bin/git",
    "/usr/bin/bwrap",
  ]);
  assert.ok(sandboxed.read.includes("/usr/bin/bwrap"));
  assert.ok(!workerPermissions(base).run.includes("/usr/bin/bwrap"), "mode off: no bwrap");
  // The /etc entries its runs see: read (for the mirror), nothing more, and not /etc itself.
  const etcEntries = ["/etc/passwd", "/etc/ssl"];
  const mirrored = workerPermissions({ ...base, sandboxBin: "/usr/bin/bwrap", etcEntries });
  assert.deepEqual(mirrored.read.filter((p) => p.startsWith("/etc")), etcEntries);
  assert.deepEqual(mirrored.write, ["/var/lib/cmesh"]);
  assert.deepEqual(mirrored.run, sandboxed.run);
});

Deno.test("worker permissions: egress adds exactly its destinations and slot sockets to net", () => {
  const perms = workerPermissions({
    bind: ["100.64.0.2"],
    port: 7433,
    stateDir: "/var/lib/cmesh",
    roots: [],
    runBinaries: ["/usr/bin/claude"],
    tools: { gitBin: null, killBin: "/usr/bin/kill", psBin: "/usr/bin/ps" },
    egressNet: ["api.anthropic.com:443", "unix:/var/lib/cmesh/egress/s0/p.sock"],
  });
  assert.deepEqual(perms.net, [
    "100.64.0.2:7433",
    "api.anthropic.com:443",
    "unix:/var/lib/cmesh/egress/s0/p.sock",
  ]);
  // Nothing else widens: still no run, read or write beyond the usual.
  assert.deepEqual(perms.write, ["/var/lib/cmesh"]);
});
