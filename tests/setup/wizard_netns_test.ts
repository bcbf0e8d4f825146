/**
 * The setup wizard from nothing to a working handshake between two machines, each in its own
 * network namespace with its own tailscaled stand-in (a LocalAPI double) and home: the only
 * thing each home holds at the start is where that stand-in's socket is (and, on the worker,
 * that the built-in demo runner is installed). Both machines are set up only through the
 * wizard's MCP tools, driven by an MCP client like an agent; `cmesh_setup_start_daemon` starts
 * each daemon through a `systemctl` stand-in that runs the generated unit's ExecStart inside
 * that namespace. The laptop finds "server" through its LocalAPI status (no address in the
 * config), and the server's worker identifies the laptop by whois on the real source address.
 *
 * Needs root and iproute2 (skips with the reason otherwise).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Client } from "../../src/deps/mcp_client.ts";
import { cmeshArgs, makeRepo, REPO_ROOT } from "../support/daemon.ts";
import {
  createTopology,
  nsWrap,
  run,
  systemTestSkipReason,
  type Topology,
} from "../support/netns.ts";
import { type NsLocalApiDouble, startNsLocalApiDouble } from "../system/ns_localapi_double.ts";
import { cleanEnv } from "./_helpers.ts";
import { call, connectWizard, fakeSystemctl, stopFakeService } from "./_wizard.ts";

const SKIP = systemTestSkipReason();
if (SKIP) console.warn(`SKIP wizard_netns_test: ${SKIP}`);

const IPS = { server: "100.64.0.1", laptop: "100.64.0.2" };

interface Machine {
  name: string;
  ns: string;
  home: string;
  cmeshHome: string;
  state: string;
  env: Record<string, string>;
  client: Client;
}

Deno.test({
  name:
    "wizard in network namespaces: laptop and server set up from nothing, then a query round trip",
  ignore: SKIP !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmt-wizard-" }));
    let topo: Topology | null = null;
    const doubles: NsLocalApiDouble[] = [];
    const machines: Machine[] = [];
    try {
      topo = await createTopology({
        bridgeNs: "w",
        namespaces: { w: [`${IPS.server}/10`], laptop: [`${IPS.laptop}/10`] },
      });
      const repo = join(base, "projects", "app");
      await makeRepo(repo);
      const server = { name: "server", ips: [IPS.server], tags: ["tag:server"] };
      const laptop = { name: "laptop", ips: [IPS.laptop], login: "alice@example.com" };
      const specs = [
        { name: "server", ns: topo.ns.w, self: server, nodes: [laptop], extra: "[runners.demo]\n" },
        { name: "laptop", ns: topo.ns.laptop, self: laptop, nodes: [server], extra: "" },
      ];
      for (const s of specs) {
        const home = join(base, s.name);
        const cmeshHome = join(home, "cmesh");
        const tsDir = join(base, `ts-${s.name}`);
        await Deno.mkdir(cmeshHome, { recursive: true });
        await Deno.mkdir(tsDir);
        const socket = join(tsDir, "tailscaled.sock");
        doubles.push(
          await startNsLocalApiDouble(
            s.ns,
            socket,
            { self: s.self, nodes: s.nodes },
            join(tsDir, "d.json"),
          ),
        );
        // The stand-in for tailscaled's default socket path; the demo runner stands for an
        // installed claude/codex on the worker.
        await Deno.writeTextFile(
          join(cmeshHome, "config.toml"),
          `[tailscale]\nsocket = ${JSON.stringify(socket)}\n${s.extra}`,
        );
        const bin = join(home, "fakebin");
        const state = join(home, "fake-systemd");
        await fakeSystemctl(bin, state);
        const env = cleanEnv(home, {
          CMESH_HOME: cmeshHome,
          PATH: `${bin}:${Deno.env.get("PATH")}`,
        });
        machines.push({
          name: s.name,
          ns: s.ns,
          home,
          cmeshHome,
          state,
          env,
          client: await connectWizard(env, s.ns),
        });
      }
      const [srv, lap] = machines;

      // Laptop: status, plan (a peer found by name on the tailnet), wrong hash, apply, start.
      const s0 = await call(lap.client, "cmesh_setup_status");
      assert.equal(s0.data.complete, false);
      assert.equal(s0.data.node.name, "laptop");
      assert.deepEqual(s0.data.tailnet_peers.map((p: { name: string }) => p.name), ["server"]);
      const lplan = await call(lap.client, "cmesh_setup_plan", {
        node_name: "laptop",
        outbound_peers: [{ name: "server" }],
      });
      assert.equal(lplan.isError, undefined, lplan.text);
      assert.deepEqual(lplan.data.warnings.filter((w: string) => /not a peer/.test(w)), []);
      const refused = await call(lap.client, "cmesh_setup_apply", { plan_hash: "f".repeat(16) });
      assert.equal(refused.isError, true);
      assert.match(refused.text, /Refused/);
      const lapplied = await call(lap.client, "cmesh_setup_apply", {
        plan_hash: lplan.data.plan_hash,
      });
      assert.equal(lapplied.isError, undefined, lapplied.text);
      const lstart = await call(lap.client, "cmesh_setup_start_daemon", { wait_seconds: 60 });
      assert.equal(lstart.data?.healthy, true, lstart.text);

      // Before the server is set up, the handshake says what to do on the server.
      const early = await call(lap.client, "cmesh_setup_handshake", { peer: "server" });
      assert.equal(early.data.ok, false);
      const reach = early.data.steps.find((s: { step: string }) => s.step === "reach");
      assert.equal(reach.ok, false, early.text);
      assert.equal(reach.where, "server");
      assert.match(reach.fix, /on server: install cmesh, set inbound\.enabled = true/);

      // Server: inbound for laptop, read-only, in the project directory only.
      const splan = await call(srv.client, "cmesh_setup_plan", {
        node_name: "server",
        inbound: {
          enabled: true,
          allow_peers: ["laptop"],
          cwd_roots: [join(base, "projects")],
          runners: ["demo"],
        },
      });
      assert.equal(splan.isError, undefined, splan.text);
      assert.ok(
        splan.data.warnings.some((w: string) =>
          /laptop can start coding agents on this machine/.test(w)
        ),
      );
      // Opening this machine to others is not the agent's to apply (issue 13 item 4): the tool
      // refuses and names the command; the user runs it in a terminal on the server.
      assert.equal(splan.data.needs_user_confirmation, true);
      const srefused = await call(srv.client, "cmesh_setup_apply", {
        plan_hash: splan.data.plan_hash,
      });
      assert.equal(srefused.isError, true, srefused.text);
      assert.match(srefused.text, /rule setup\.widening_needs_user/);
      const command = srefused.text.match(/^ {2}(cmesh config apply \S+ --config \S+)$/m)?.[1];
      assert.ok(command, srefused.text);
      const byUser = await run(
        [...nsWrap(srv.ns), Deno.execPath(), ...cmeshArgs(...command.split(" ").slice(1), "--yes")],
        { cwd: REPO_ROOT, env: srv.env, clearEnv: true },
      );
      assert.equal(byUser.code, 0, `${byUser.stdout}\n${byUser.stderr}`);
      assert.equal(
        await Deno.readTextFile(join(srv.cmeshHome, "config.toml")),
        splan.data.proposed,
      );
      const sstart = await call(srv.client, "cmesh_setup_start_daemon", { wait_seconds: 60 });
      assert.equal(
        sstart.data?.healthy,
        true,
        `${sstart.text}\n${await Deno.readTextFile(join(srv.state, "daemon.log")).catch(() => "")}`,
      );
      const sstatus = await call(srv.client, "cmesh_setup_status");
      const worker = sstatus.data.checks.find((c: { id: string }) => c.id === "worker");
      assert.match(
        worker.detail,
        new RegExp(`listening on ${IPS.server.replaceAll(".", "\\.")}:7433`),
      );

      // The round trip, laptop → server, over the namespaces' network.
      const hs = await call(lap.client, "cmesh_setup_handshake", {
        peer: "server",
        wait_seconds: 120,
      });
      assert.equal(hs.data.ok, true, hs.text);
      assert.deepEqual(hs.data.steps.map((s: { ok: boolean }) => s.ok), [
        true,
        true,
        true,
        true,
        true,
      ]);
      assert.match(
        hs.data.steps[2].detail,
        new RegExp(`server answers at ${IPS.server.replaceAll(".", "\\.")}:7433`),
      );
      assert.equal(hs.data.round_trip.state, "succeeded");
      assert.equal(hs.data.round_trip.cwd, join(base, "projects"));
      assert.equal(hs.data.round_trip.runner, "demo");

      // The other direction, as seen from the server: it accepts laptop; it sends nowhere.
      const back = await call(srv.client, "cmesh_setup_handshake", { peer: "laptop" });
      assert.equal(back.data.steps[0].ok, false);
      assert.equal(back.data.reverse.allowed, true);
      assert.match(back.data.reverse.detail, /accepts query in .* from laptop/);

      const done = await call(lap.client, "cmesh_setup_status");
      assert.equal(done.data.complete, true, done.text);
    } finally {
      for (const m of machines) {
        await m.client.close().catch(() => {});
        await stopFakeService(m.state);
      }
      for (const d of doubles) await d.close().catch(() => {});
      await topo?.destroy();
      await Deno.remove(base, { recursive: true }).catch(() => {});
    }
  },
});
