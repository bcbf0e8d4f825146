/**
 * The setup wizard through a real MCP client talking to a spawned `cmesh mcp`, in a temporary
 * HOME, the way an agent would use it. A LocalAPI double plays tailscaled for "laptop"; a
 * second daemon ("server", local-demo identity, demo runner) is the peer; a fake `systemctl`
 * runs the generated unit's ExecStart, so `cmesh_setup_start_daemon` really starts the daemon.
 *
 * Shown: status names the next step; a plan is a diff with a hash; apply with a wrong hash is
 * refused and the file untouched; apply with the plan's hash writes, backs up and audits; a
 * stale plan is refused; start_daemon waits until healthy; the handshake runs a query task on
 * the peer and reports each step; a peer that is not configured gets a fix naming this machine.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Client } from "../../src/deps/mcp_client.ts";
import { openStore } from "../../src/store/db.ts";
import { type DaemonProcess, freePort, makeRepo, startDaemon, tempDir } from "../support/daemon.ts";
import { type LocalApiDouble, startLocalApiDouble } from "../support/localapi_double.ts";
import { cleanEnv } from "./_helpers.ts";
import { call, connectWizard, fakeSystemctl, stopFakeService } from "./_wizard.ts";

interface Wizard {
  dir: string;
  home: string;
  cmeshHome: string;
  configFile: string;
  api: LocalApiDouble;
  server: DaemonProcess;
  serverWorkerPort: number;
  repo: string;
  state: string;
  client: Client;
  close(): Promise<void>;
}

async function wizard(): Promise<Wizard> {
  const tmp = await tempDir("cmesh-wizard-");
  const dir = tmp.path;
  const home = join(dir, "home");
  const cmeshHome = join(home, "cmesh");
  const state = join(dir, "fake-systemd");
  await Deno.mkdir(cmeshHome, { recursive: true });
  await Deno.mkdir(state);
  const api = await startLocalApiDouble({
    self: { name: "laptop", ips: ["100.64.0.2"], login: "ann@example.com" },
    nodes: [{ name: "server", ips: ["100.64.0.1"], login: "ann@example.com" }],
  });
  // The peer: a worker that (local-demo identity) sees this machine as "laptop".
  const serverHome = join(dir, "server");
  const repo = join(dir, "repo");
  await makeRepo(repo);
  const serverWorkerPort = freePort();
  await Deno.mkdir(serverHome);
  await Deno.writeTextFile(
    join(serverHome, "config.toml"),
    `[node]\nname = "server"\n[daemon]\ncontrol_port = ${freePort()}\nworker_port = ${serverWorkerPort}\n` +
      `[inbound]\nenabled = true\n[[inbound.allow]]\npeers = ["laptop"]\ncwd = ["${await Deno
        .realPath(repo)}"]\nrunners = ["demo"]\n[runners.demo]\n`,
  );
  const server = await startDaemon(serverHome, { demoCaller: "laptop" });
  // This machine starts with only where tailscaled's LocalAPI is and a free control port.
  const configFile = join(cmeshHome, "config.toml");
  await Deno.writeTextFile(
    configFile,
    `# mine\n[daemon]\ncontrol_port = ${freePort()}\n[tailscale]\nsocket = "${api.socketPath}"\n`,
  );
  const bin = join(dir, "fakebin");
  await fakeSystemctl(bin, state);
  const env = cleanEnv(home, {
    CMESH_HOME: cmeshHome,
    PATH: `${bin}:${Deno.env.get("PATH")}`,
  });
  const client = await connectWizard(env);
  return {
    dir,
    home,
    cmeshHome,
    configFile,
    api,
    server,
    serverWorkerPort,
    repo: await Deno.realPath(repo),
    state,
    client,
    async close() {
      await client.close().catch(() => {});
      await stopFakeService(state);
      await server.stop();
      await api.stop();
      await tmp.cleanup();
    },
  };
}

Deno.test({
  name:
    "wizard: status → plan → apply (wrong hash refused) → start_daemon → handshake with a real peer",
  ignore: Deno.build.os !== "linux",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const w = await wizard();
    try {
      const tools = (await w.client.listTools()).tools.map((t) => t.name);
      for (
        const t of [
          "cmesh_setup_status",
          "cmesh_setup_plan",
          "cmesh_setup_apply",
          "cmesh_setup_start_daemon",
          "cmesh_setup_handshake",
        ]
      ) {
        assert.ok(tools.includes(t), t);
      }

      const s0 = await call(w.client, "cmesh_setup_status");
      assert.equal(s0.isError, undefined, s0.text);
      assert.equal(s0.data.complete, false);
      assert.equal(s0.data.next_step.tool, "cmesh_setup_start_daemon");
      assert.equal(s0.data.node.name, "laptop");
      assert.deepEqual(s0.data.tailnet_peers.map((p: { name: string }) => p.name), ["server"]);

      const plan = await call(w.client, "cmesh_setup_plan", {
        node_name: "laptop",
        outbound_peers: [{ name: "server", address: "127.0.0.1", port: w.serverWorkerPort }],
      });
      assert.equal(plan.isError, undefined, plan.text);
      const hash = plan.data.plan_hash as string;
      assert.match(hash, /^[0-9a-f]{16}$/);
      assert.match(plan.data.diff, /^\+\[\[outbound\.peers\]\]$/m);
      assert.match(plan.data.diff, /^\+name = "server"$/m);
      assert.match(plan.data.diff, /^\+profiles = \[ "query" \]$/m);
      assert.match(plan.text, /Only if they confirm, call cmesh_setup_apply/);
      assert.ok(
        plan.data.warnings.some((x: string) => /comments/.test(x)),
        "comment loss is flagged",
      );
      // A name the tailnet does not know: the warning says which side it speaks of.
      const ghost = await call(w.client, "cmesh_setup_plan", {
        outbound_peers: [{ name: "ghost", profiles: ["query", "build"] }],
      });
      assert.ok(
        ghost.data.warnings.includes(
          "outbound: ghost is not a peer on this tailnet right now (known: server)",
        ),
        ghost.data.warnings.join("\n"),
      );
      for (const x of ghost.data.warnings as string[]) {
        assert.match(x, /^(outbound|inbound|config): /);
      }
      const before = await Deno.readTextFile(w.configFile);

      const wrong = await call(w.client, "cmesh_setup_apply", { plan_hash: "0123456789abcdef" });
      assert.equal(wrong.isError, true);
      assert.match(wrong.text, /Refused: no plan with hash "0123456789abcdef"/);
      assert.equal(await Deno.readTextFile(w.configFile), before, "nothing written");

      const applied = await call(w.client, "cmesh_setup_apply", { plan_hash: hash });
      assert.equal(applied.isError, undefined, applied.text);
      assert.equal(await Deno.readTextFile(w.configFile), plan.data.proposed);
      assert.equal(await Deno.readTextFile(applied.data.backup), before);
      const store = openStore(join(w.cmeshHome, "state", "cmesh.db"));
      try {
        const rec = store.db.prepare("SELECT kind, data FROM audit WHERE seq = ?").get(
          applied.data.audit_seq,
        ) as {
          kind: string;
          data: string;
        };
        assert.equal(rec.kind, "config.change");
        assert.equal(JSON.parse(rec.data).plan_hash, hash);
      } finally {
        store.close();
      }
      const again = await call(w.client, "cmesh_setup_apply", { plan_hash: hash });
      assert.equal(again.isError, true, "a plan is applied once: the file changed since");
      assert.match(again.text, /changed since this plan was made/);

      const started = await call(w.client, "cmesh_setup_start_daemon", { wait_seconds: 60 });
      assert.equal(
        started.isError,
        undefined,
        `${started.text}\n${await Deno.readTextFile(join(w.state, "daemon.log")).catch(() => "")}`,
      );
      assert.equal(started.data.healthy, true);
      assert.equal(started.data.status.node, "laptop");
      assert.match(
        await Deno.readTextFile(join(w.state, "systemctl.log")),
        /--user restart cmesh\.service/,
      );

      const hs = await call(w.client, "cmesh_setup_handshake", {
        peer: "server",
        wait_seconds: 120,
      });
      assert.equal(hs.isError, undefined, hs.text);
      assert.equal(hs.data.ok, true, hs.text);
      assert.deepEqual(
        hs.data.steps.map((s: { step: string; ok: boolean }) => `${s.step}:${s.ok}`),
        [
          "config:true",
          "daemon:true",
          "reach:true",
          "peer_policy:true",
          "round_trip:true",
        ],
      );
      assert.equal(hs.data.round_trip.state, "succeeded");
      assert.equal(hs.data.round_trip.cwd, w.repo);
      assert.equal(hs.data.round_trip.runner, "demo");
      assert.equal(hs.data.reverse.allowed, false);
      assert.match(hs.text, /Handshake laptop → server: OK/);

      const unknown = await call(w.client, "cmesh_setup_handshake", { peer: "ghost" });
      assert.equal(unknown.data.ok, false);
      assert.equal(unknown.data.steps[0].step, "config");
      assert.match(
        unknown.data.steps[0].fix,
        /cmesh_setup_plan with outbound_peers \[\{"name": "ghost"\}\]/,
      );

      const done = await call(w.client, "cmesh_setup_status");
      const checks = Object.fromEntries(
        done.data.checks.map((c: { id: string; status: string }) => [c.id, c.status]),
      );
      assert.equal(checks.daemon, "pass");
      assert.equal(checks["peer.server"], "pass");
      assert.equal(checks.service, "pass", "the fake systemctl reports the unit active");
      assert.equal(done.data.complete, true, done.text);
    } finally {
      await w.close();
    }
  },
});
