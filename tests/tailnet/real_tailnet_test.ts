/**
 * @module
 * cmesh over a real tailnet: pinned tailscaled (kernel TUN) and headscale (control, grants,
 * embedded DERP) in network namespaces with no route out (world.ts has the map). Each step
 * would fail if cmesh trusted the wrong thing or tailscaled behaved unlike the LocalAPI double
 * the other system tests use.
 *
 * Needs root and the binaries from `tests/tailnet/build_bins.sh`; otherwise it is skipped with
 * the reason (bins.ts). Run: `deno test -P tests/tailnet/`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cmeshArgs, REPO_ROOT } from "../support/daemon.ts";
import { findBins, tailnetSkipReason } from "./bins.ts";
import {
  curl,
  decisionOf,
  delegate,
  deniedTaskId,
  errorOf,
  recordsFrom,
  sha256,
  show,
} from "./checks.ts";
import { HUB_ADDR, lanGone } from "./net.ts";
import { CMESH_CAP, INTRUDER_USER } from "./policy.ts";
import { ip } from "../support/netns.ts";
import { run } from "../support/proc.ts";
import { waitUntil } from "./proc.ts";
import { createTailnetWorld, DECOY_PORT, initialPolicy, WORKER_PORT } from "./world.ts";
import { CliTransport } from "../../src/tailscale/cli_transport.ts";
import { LocalApiClient } from "../../src/tailscale/localapi.ts";

const skip = await tailnetSkipReason();
if (skip) console.log(`tests/tailnet: real tailnet tests skipped: ${skip}`);

Deno.test({
  name: "real tailnet: cmesh between tailscaled nodes under headscale grants",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const bins = (await findBins())!;
    const t0 = performance.now();
    const w = await createTailnetWorld(bins);
    console.log(
      `tailnet up in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
        `(tailscale ${bins.versions.tailscale}, headscale ${bins.versions.headscale}): ` +
        `laptop ${w.ip.laptop}, server ${w.ip.server}, intruder ${w.ip.intruder}`,
    );
    // Ctrl-C or a CI time-out (SIGTERM) must not leave tailscaled/headscale running.
    const onSignal = () => {
      console.error("tests/tailnet: interrupted; tearing the tailnet down");
      w.destroy().finally(() => Deno.exit(130));
    };
    for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, onSignal);
    const results: boolean[] = [];
    try {
      results.push(
        await t.step(
          "laptop delegates a query over the tailnet; the server audits the real whois identity",
          async () => {
            // The worker bound the server's tailnet addresses (from real status), nothing else.
            const listening = w.daemons.server!.ready.worker;
            assert.ok(
              listening.includes(`${w.ip.server}:${WORKER_PORT}`),
              JSON.stringify(listening),
            );
            assert.ok(
              listening.every((a) => /^(100\.|\[?fd7a:115c:a1e0:)/.test(a)),
              JSON.stringify(listening),
            );
            assert.equal(
              w.daemons.server!.ready.node,
              "server",
              "node name comes from real status",
            );

            const r = await delegate(w, "laptop", "query", 'Where is "marker" mentioned?');
            assert.equal(r.code, 0, show(r));
            const task = r.json!.task as { id: string; state: string };
            const result = r.json!.result as { claims: { final_text: string | null } };
            assert.equal(task.state, "succeeded", show(r));
            assert.match(result.claims.final_text ?? "", /tailnet\.txt/, show(r));

            // The laptop resolves "server" through its own tailscaled's status (no address in config).
            const peers = await w.cmesh("laptop", "peers", "--json");
            assert.equal(peers.code, 0, show(peers));
            assert.ok(peers.stdout.includes(`"${w.ip.server}:${WORKER_PORT}"`), show(peers));

            // The server's decision names the caller exactly as its tailscaled's whois does.
            const who = (await w.nodes.server.whois(w.ip.laptop))!;
            const node = who.Node as { StableID: string; Name: string };
            const profile = who.UserProfile as { LoginName: string };
            const rec = await decisionOf(w, task.id);
            assert.equal(rec.decision, "allow", JSON.stringify(rec));
            assert.equal(rec.actor?.node, "laptop");
            assert.equal(node.Name, "laptop.tailnet.cmesh.test.");
            assert.equal(rec.actor?.login, profile.LoginName);
            assert.equal(profile.LoginName, "alice");
            assert.equal(rec.actor?.stable_id, node.StableID);
            assert.deepEqual(rec.actor?.tags, []);
            assert.equal(rec.actor?.source_ip, w.ip.laptop);
            assert.match(
              rec.reason ?? "",
              new RegExp(CMESH_CAP.replaceAll(".", "\\.")),
              "grant consulted",
            );
          },
        ),
      );

      results.push(
        await t.step(
          "the first contact pinned the server's real StableID; a pin set to a wrong id refuses",
          async () => {
            // What the laptop's own tailscaled says the server is.
            const real = ((await w.nodes.laptop.whois(w.ip.server))!.Node as { StableID: string })
              .StableID;
            const pinOf = async () => {
              const r = await w.cmesh("laptop", "peers", "--json");
              assert.equal(r.code, 0, show(r));
              const peers = r.json!.peers as { name: string; pin: unknown; stable_id: unknown }[];
              return peers.find((p) => p.name === "server")!;
            };
            const first = await pinOf();
            assert.deepEqual(
              {
                id: (first.pin as { stable_id: string }).stable_id,
                by: (first.pin as { source: string }).source,
              },
              { id: real, by: "first_contact" },
              JSON.stringify(first),
            );
            assert.equal(first.stable_id, real, "whois-confirmed before it was listed");

            const wrong = await w.cmesh(
              "laptop",
              "peers",
              "pin",
              "server",
              "--stable-id",
              "nWRONGPIN1CNTRL",
            );
            assert.equal(wrong.code, 0, show(wrong));
            const refused = await delegate(w, "laptop", "query", "say hi");
            assert.equal(refused.code, 3, show(refused));
            assert.equal(errorOf(refused).rule, "outbound.pin_mismatch", show(refused));
            assert.match(errorOf(refused).message ?? "", /pinned to node nWRONGPIN1CNTRL/);

            // Re-pinning by name looks the server up in real status and confirms it with whois.
            const repin = await w.cmesh("laptop", "peers", "pin", "server");
            assert.equal(repin.code, 0, show(repin));
            assert.equal((await pinOf()).stable_id, real);
            assert.equal(((await pinOf()).pin as { stable_id: string }).stable_id, real);
            const again = await delegate(w, "laptop", "query", "say hi");
            assert.equal(again.code, 0, show(again));
          },
        ),
      );

      results.push(
        await t.step(
          "the tailscale CLI transport (how a Windows worker asks) identifies callers exactly as the socket",
          async () => {
            const socket = w.nodes.server.socket;
            const viaCli = new LocalApiClient(new CliTransport({ binary: bins.tailscale, socket }));
            const viaSocket = LocalApiClient.create({ socket });
            for (const addr of [w.ip.laptop, w.ip.intruder]) {
              const cli = await viaCli.whois(addr, 41641);
              assert.ok(cli.ok, JSON.stringify(cli));
              assert.deepEqual(cli, await viaSocket.whois(addr, 41641));
            }
            // Not a node of this tailnet: the CLI's "peer not found" is an unknown caller.
            const stranger = await viaCli.whois("100.100.99.99", 1);
            assert.equal(!stranger.ok && stranger.code, "not_found", JSON.stringify(stranger));
            const st = await viaCli.status();
            assert.ok(st.ok, JSON.stringify(st));
            assert.equal(st.self?.name, "server");
            // tailscaled unreachable: unavailable, never an identity.
            const gone = new LocalApiClient(
              new CliTransport({ binary: bins.tailscale, socket: `${socket}.missing` }),
            );
            const down = await gone.whois(w.ip.laptop, 41641);
            assert.equal(!down.ok && down.code, "unavailable", JSON.stringify(down));
          },
        ),
      );

      results.push(
        await t.step(
          "intruder is on the tailnet and reaches the port, but cmesh policy refuses its whois identity",
          async () => {
            const before = (await recordsFrom(w, w.ip.intruder)).length;
            const raw = await curl(
              w.lan.ns.intruder,
              "POST",
              `http://${w.ip.server}:${WORKER_PORT}/v1/tasks`,
              {
                json: {
                  id: `t-intruder-${crypto.randomUUID().slice(0, 8)}`,
                  prompt: "ls",
                  cwd: w.repo,
                  profile: "query",
                  runner: "demo",
                },
              },
            );
            assert.equal(raw.status, 403, show(raw));
            assert.equal(raw.body.error?.rule, "inbound.no_matching_rule", show(raw));
            assert.match(raw.body.error?.message ?? "", /intruder/, show(raw));

            const r = await delegate(w, "intruder", "query", "list the files");
            assert.equal(r.code, 3, show(r));
            assert.equal(errorOf(r).rule, "inbound.no_matching_rule", show(r));
            const recs = (await recordsFrom(w, w.ip.intruder)).slice(before);
            assert.equal(recs.length, 2, JSON.stringify(recs));
            for (const rec of recs) {
              assert.equal(rec.decision, "deny");
              assert.equal(rec.rule, "inbound.no_matching_rule");
              assert.equal(rec.actor?.node, "intruder");
              assert.equal(rec.actor?.login, INTRUDER_USER);
            }
          },
        ),
      );

      await t.step({
        name: "a process on the server calling its own tailnet address is not a peer",
        // Real whois names the server's own node for such a connection; the worker refuses it
        // (identity.refused) so local users cannot act as the node.
        fn: async () => {
          const r = await curl(
            w.lan.ns.server,
            "GET",
            `http://${w.ip.server}:${WORKER_PORT}/v1/hello`,
          );
          assert.equal(r.status, 403, show(r));
          assert.equal(r.body.error?.rule, "identity.refused", show(r));
        },
      });

      results.push(
        await t.step(
          "the app-capability grant decides what laptop may do; cmesh's config is untouched",
          async () => {
            const config = join(w.home.server, "config.toml");
            const configHash = await sha256(config);

            // Local config allows edit; the grant (revision 1) says query only.
            const edit1 = await delegate(w, "laptop", "edit", "look at README");
            assert.equal(edit1.code, 3, show(edit1));
            assert.equal(errorOf(edit1).rule, "grant.profile", show(edit1));
            assert.equal((await decisionOf(w, deniedTaskId(edit1))).rule, "grant.profile");

            // The tailnet admin widens the grant: edit now passes, same cmesh config.
            await w.setPolicy({
              laptopCmesh: [{
                profiles: ["query", "edit"],
                cwd: [`${w.root}/**`],
                runners: ["demo"],
              }],
              intruderPorts: [`tcp:${WORKER_PORT}`],
            });
            const edit2 = await delegate(w, "laptop", "edit", "look at README");
            assert.equal(edit2.code, 0, show(edit2));
            assert.equal((edit2.json!.task as { state: string }).state, "succeeded", show(edit2));

            // The admin removes the cmesh capability: even query is denied (grant.missing).
            await w.setPolicy({ laptopCmesh: null, intruderPorts: [`tcp:${WORKER_PORT}`] });
            const caps = ((await w.nodes.server.whois(w.ip.laptop))!.CapMap ?? {}) as Record<
              string,
              unknown
            >;
            assert.ok(!(CMESH_CAP in caps), JSON.stringify(caps));
            const query = await delegate(w, "laptop", "query", "look at README");
            assert.equal(query.code, 3, show(query));
            assert.equal(errorOf(query).rule, "grant.missing", show(query));
            assert.equal((await decisionOf(w, deniedTaskId(query))).rule, "grant.missing");

            assert.equal(
              await sha256(config),
              configHash,
              "the server's config.toml never changed",
            );
          },
        ),
      );

      results.push(
        await t.step(
          "a grant that excludes intruder from the port: its connection never reaches cmesh",
          async () => {
            await w.setPolicy({
              laptopCmesh: initialPolicy(w.root).laptopCmesh,
              intruderPorts: [`tcp:${DECOY_PORT}`],
            });
            const before = (await w.audit("server")).length;
            // The tailnet path to the server still works: a granted port answers (RST: nothing listens).
            const decoy = await curl(
              w.lan.ns.intruder,
              "GET",
              `http://${w.ip.server}:${DECOY_PORT}/`,
              { maxTimeS: 5 },
            );
            assert.equal(decoy.exit, 7, `granted port must answer with a refusal: ${show(decoy)}`);
            // The cmesh port: the server's tailscaled drops the packets, nothing answers at all.
            const blocked = await curl(
              w.lan.ns.intruder,
              "GET",
              `http://${w.ip.server}:${WORKER_PORT}/v1/hello`,
              {
                maxTimeS: 5,
              },
            );
            assert.equal(blocked.exit, 28, `expected a timeout: ${show(blocked)}`);
            assert.equal(blocked.status, 0);
            // Tailscale filters connection starts only (TCP SYN): a keep-alive connection that
            // the intruder's daemon opened in the step before outlives the grant (seen: the
            // request then reaches the worker and cmesh refuses it by identity). A restarted
            // daemon has no pooled connection, so this shows the grant alone.
            await w.stopDaemon("intruder");
            await w.startDaemon("intruder");
            const r = await delegate(w, "intruder", "query", "list the files");
            assert.equal(r.code, 1, show(r));
            assert.match(
              errorOf(r).message ?? r.stderr,
              /did not answer in time|grant blocks the port/,
              show(r),
            );
            // Meanwhile the laptop still gets through.
            const ok = await delegate(w, "laptop", "query", "list the files");
            assert.equal(ok.code, 0, show(ok));
            const after = (await w.audit("server")).slice(before);
            assert.deepEqual(
              after.filter((a) =>
                a.actor?.source_ip === w.ip.intruder || a.actor?.node === "intruder"
              ),
              [],
            );
          },
        ),
      );

      results.push(
        await t.step(
          "a non-tailnet source on the bridge is refused on its address, before whois",
          async () => {
            // The hub sends to the server's tailnet address straight over the bridge, as a LAN host
            // with a hand-made route would; its source stays 198.18.0.1.
            await ip(
              "-n",
              w.lan.ns.hub,
              "route",
              "add",
              `${w.ip.server}/32`,
              "via",
              w.lan.addr.server,
            );
            const r = await curl(
              w.lan.ns.hub,
              "GET",
              `http://${w.ip.server}:${WORKER_PORT}/v1/hello`,
              { maxTimeS: 5 },
            );
            assert.equal(r.status, 403, show(r));
            assert.equal(r.body.error?.code, "not_tailnet", show(r));
            assert.equal(r.body.error?.rule, "source.not_tailnet", show(r));
            const recs = await recordsFrom(w, HUB_ADDR);
            assert.equal(recs.length, 1, JSON.stringify(recs));
            assert.equal(recs[0].rule, "source.not_tailnet");
            assert.equal(recs[0].actor?.node, undefined, "no identity: whois was never asked");
          },
        ),
      );

      results.push(
        await t.step(
          "tailscaled stopped on the server: cmesh fails closed and says why",
          async () => {
            await w.nodes.server.kill("SIGKILL");
            // The persistent TUN keeps 100.x on the server, so a tailnet-addressed connection can
            // still reach the worker (here: from the server itself); whois cannot answer → 503.
            const self = await curl(
              w.lan.ns.server,
              "GET",
              `http://${w.ip.server}:${WORKER_PORT}/v1/hello`,
              {
                maxTimeS: 10,
              },
            );
            assert.equal(self.status, 503, show(self));
            assert.equal(self.body.error?.code, "identity_unavailable", show(self));
            assert.equal(self.body.error?.rule, "identity.unavailable", show(self));
            assert.match(self.body.error?.message ?? "", /fail closed/, show(self));
            const rec = (await recordsFrom(w, w.ip.server)).at(-1);
            assert.equal(rec?.rule, "identity.unavailable", JSON.stringify(rec));

            // The laptop learns from headscale that the server is offline and refuses to dispatch.
            await waitUntil("the laptop to see the server offline", async () => {
              const peers = Object.values((await w.nodes.laptop.status()).Peer ?? {});
              return peers.some((p) => p.HostName === "server" && !p.Online) ? true : undefined;
            }, 60_000);
            const r = await delegate(w, "laptop", "query", "list the files");
            assert.notEqual(r.code, 0, show(r));
            assert.match(errorOf(r).message ?? "", /server is offline on the tailnet/, show(r));

            // A restarted server daemon refuses to open the worker without tailscaled.
            await w.stopDaemon("server");
            const restart = await run(
              [Deno.execPath(), ...cmeshArgs("daemon")],
              {
                ns: w.lan.ns.server,
                cwd: REPO_ROOT,
                env: { CMESH_HOME: w.home.server, NO_COLOR: "1" },
                timeoutMs: 60_000,
              },
            );
            assert.equal(restart.code, 1, `${restart.stdout}\n${restart.stderr}`);
            assert.match(restart.stderr, /cannot start the worker: .*fail closed/s, restart.stderr);
          },
        ),
      );
    } finally {
      if (results.includes(false)) console.error(await w.diagnostics());
      await w.destroy();
      for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(sig, onSignal);
      assert.ok(await lanGone(w.lan), "namespaces left behind");
      console.log(`tailnet stage took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  },
});
