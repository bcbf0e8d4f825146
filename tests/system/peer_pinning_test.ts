/**
 * Issue 13 item 3 in network namespaces with LocalAPI doubles: the requester sends only to the
 * peer it means. The worker `server` (100.64.0.1) accepts query tasks from `laptop`; the
 * laptop's tailscaled stand-in lists, besides `server`, a shared-in lookalike
 * `buildbox.evil-corp.ts.net` and two `dup` nodes and an `impostor` whose status address is
 * the server's (so whois there names another node). Each of those names is refused before
 * anything is sent (the worker never sees those task ids); `server` is pinned on its first
 * contact; a changed StableID is refused until `cmesh peers pin`; a pin set to a wrong id
 * refuses.
 *
 * Needs root and iproute2; skipped with the reason printed otherwise.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listAudit } from "../../src/store/audit.ts";
import { openStore } from "../../src/store/db.ts";
import { getPin } from "../../src/store/pins.ts";
import { cmeshArgs, type CmeshNode, createNode, REPO_ROOT } from "../support/daemon.ts";
import { fakeAgentManifestToml } from "../support/fake_agent.ts";
import type { NodeSpec } from "../support/localapi_fixtures.ts";
import { createTopology, nsWrap, run, systemTestSkipReason } from "../support/netns.ts";
import type { Topology } from "../support/netns.ts";
import { type NsLocalApiDouble, startNsLocalApiDouble } from "./ns_localapi_double.ts";

const SKIP = systemTestSkipReason();
if (SKIP) console.warn(`tests/system/peer_pinning_test.ts skipped: ${SKIP}`);

const SERVER_IP = "100.64.0.1";
const LAPTOP_IP = "100.64.0.2";
const SUFFIX = "tail4c2e1.ts.net";
const q = JSON.stringify;

const server: NodeSpec = {
  name: "server",
  ips: [SERVER_IP],
  tags: ["tag:server"],
  stableId: "nSERVER1CNTRL",
};
const laptop: NodeSpec = { name: "laptop", ips: [LAPTOP_IP], login: "alice@example.com" };
/** The laptop's view of the tailnet. `server` first, so whois of its IP names it. */
const lookalikes: NodeSpec[] = [
  {
    name: "buildbox",
    ips: [SERVER_IP],
    login: "mallory@evil-corp.com",
    dnsName: "buildbox.evil-corp.ts.net.",
    sharer: true,
  },
  { name: "dup", ips: [SERVER_IP], login: "a@example.com", dnsName: `dup.alice.${SUFFIX}.` },
  { name: "dup", ips: ["100.64.0.7"], login: "b@example.com", dnsName: `dup.bob.${SUFFIX}.` },
  { name: "impostor", ips: [SERVER_IP], login: "eve@example.com" },
];

const SCRIPT = q([{ claude: "init" }, { claude: "result", text: "ok" }]);

Deno.test({
  name: "system: outbound peers are pinned by StableID; lookalikes, ambiguity, changes refused",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmt-pin-" }));
    const root = join(base, "root");
    await Deno.mkdir(root);
    const sockets = {
      server: join(base, "ts-s", "ts.sock"),
      laptop: join(base, "ts-l", "ts.sock"),
    };
    let topo: Topology | null = null;
    const doubles: NsLocalApiDouble[] = [];
    const nodes: CmeshNode[] = [];
    try {
      for (const d of ["ts-s", "ts-l"]) await Deno.mkdir(join(base, d));
      topo = await createTopology({
        bridgeNs: "w",
        namespaces: { w: [`${SERVER_IP}/10`], laptop: [`${LAPTOP_IP}/10`] },
      });
      const nsL = topo.ns.laptop;
      doubles.push(
        await startNsLocalApiDouble(
          topo.ns.w,
          sockets.server,
          { self: server, nodes: [laptop] },
          join(base, "ts-s", "d.json"),
        ),
      );
      const laptopDouble = (nodes: NodeSpec[], file: string) =>
        startNsLocalApiDouble(
          nsL,
          sockets.laptop,
          { self: laptop, nodes },
          join(base, "ts-l", file),
        );
      doubles.push(await laptopDouble([server, ...lookalikes], "d1.json"));
      const worker = await createNode(join(base, "server"), {
        config: {
          node: { name: "server" },
          tailscale: { socket: sockets.server, timeout_ms: 2000 },
          inbound: {
            enabled: true,
            allow: [{ peers: ["laptop"], profiles: ["query"], cwd: [root], runners: ["fake"] }],
          },
          runners: { fake: { enabled: true } },
        },
        runners: { fake: fakeAgentManifestToml(["query"]) },
        wrap: nsWrap(topo.ns.w),
      });
      const lap = await createNode(join(base, "laptop"), {
        config: {
          node: { name: "laptop" },
          tailscale: { socket: sockets.laptop, timeout_ms: 2000 },
          outbound: {
            peers: ["server", "buildbox", "dup", "impostor"]
              .map((name) => ({ name, cwd: [`${root}/**`, root] })),
          },
        },
        wrap: nsWrap(nsL),
      });
      nodes.push(worker, lap);
      for (const node of nodes) await node.start();

      const cli = (...args: string[]) =>
        run([...nsWrap(nsL), Deno.execPath(), ...cmeshArgs(...args)], {
          cwd: REPO_ROOT,
          env: { CMESH_HOME: lap.home, NO_COLOR: "1" },
        });
      const ids: Record<string, string> = {};
      let n = 0;
      const delegate = async (peer: string) => {
        const id = `tpin${++n}x${crypto.randomUUID().slice(0, 8)}`;
        ids[`${peer}#${n}`] = id;
        const r = await cli("delegate", peer, SCRIPT, "--cwd", root, "--id", id, "--json");
        return { id, code: r.code, out: `${r.stdout}${r.stderr}` };
      };

      const refusedIds: string[] = [];
      await t.step("a shared-in lookalike is refused; nothing is sent", async () => {
        const r = await delegate("buildbox");
        assert.equal(r.code, 3, r.out);
        assert.match(r.out, /buildbox matches only buildbox\.evil-corp\.ts\.net/);
        assert.match(r.out, /rule outbound\.peer_foreign/);
        refusedIds.push(r.id);
      });
      await t.step("an ambiguous name is refused with the candidates listed", async () => {
        const r = await delegate("dup");
        assert.equal(r.code, 3, r.out);
        assert.match(r.out, /dup matches 2 nodes on this tailnet/);
        assert.match(r.out, /dup\.alice\.tail4c2e1\.ts\.net/);
        assert.match(r.out, /dup\.bob\.tail4c2e1\.ts\.net/);
        assert.match(r.out, /rule outbound\.name_ambiguous/);
        refusedIds.push(r.id);
      });
      await t.step("whois of the address names another node: refused", async () => {
        const r = await delegate("impostor");
        assert.equal(r.code, 3, r.out);
        assert.match(r.out, /is node nSERVER1CNTRL .* according to whois/);
        assert.match(r.out, /rule outbound\.whois_mismatch/);
        refusedIds.push(r.id);
      });
      await t.step("first contact pins server; cmesh peers shows it", async () => {
        const r = await delegate("server");
        assert.equal(r.code, 0, r.out);
        const peers = JSON.parse((await cli("peers", "--json")).stdout);
        const s = peers.peers.find((p: { name: string }) => p.name === "server");
        assert.equal(s.pin?.stable_id, "nSERVER1CNTRL", JSON.stringify(s));
        assert.equal(s.pin?.source, "first_contact");
        assert.equal(s.stable_id, "nSERVER1CNTRL");
        const text = (await cli("peers")).stdout;
        assert.match(text, /pinned to node nSERVER1CNTRL \(first contact\)/);
      });
      await t.step("a changed StableID is refused until the user re-pins", async () => {
        await doubles.pop()!.close();
        const changed = { ...server, stableId: "nREINSTALLCNTRL" };
        doubles.push(await laptopDouble([changed, ...lookalikes], "d2.json"));
        const r = await delegate("server");
        assert.equal(r.code, 3, r.out);
        assert.match(r.out, /server is pinned to node nSERVER1CNTRL/);
        assert.match(r.out, /cmesh peers pin server/);
        assert.match(r.out, /rule outbound\.pin_mismatch/);
        refusedIds.push(r.id);
        const pin = await cli("peers", "pin", "server");
        assert.equal(pin.code, 0, pin.stderr);
        assert.match(pin.stdout, /pinned server to node nREINSTALLCNTRL .*; was nSERVER1CNTRL/);
        assert.equal((await delegate("server")).code, 0);
        const wrong = await cli("peers", "pin", "server", "--stable-id", "nWRONGCNTRL");
        assert.equal(wrong.code, 0, wrong.stderr);
        const r2 = await delegate("server");
        assert.equal(r2.code, 3, r2.out);
        assert.match(r2.out, /rule outbound\.pin_mismatch/);
        refusedIds.push(r2.id);
        assert.equal((await cli("peers", "unpin", "server")).code, 0);
      });
      await t.step("the worker never saw a refused task; the audit holds the pins", async () => {
        for (const node of nodes) await node.stop();
        {
          using store = openStore(worker.dbPath);
          const seen = listAudit(store, { limit: 1000 }).map((r) => r.task_id);
          for (const id of refusedIds) assert.ok(!seen.includes(id), `worker saw ${id}`);
        }
        using store = openStore(lap.dbPath);
        const recs = listAudit(store, { limit: 1000 });
        const pins = recs.filter((r) => r.kind === "peer.pinned").map((r) => r.data);
        assert.deepEqual(pins.map((d) => (d as { stable_id: string }).stable_id), [
          "nSERVER1CNTRL",
          "nREINSTALLCNTRL",
          "nWRONGCNTRL",
        ]);
        assert.equal(recs.filter((r) => r.kind === "peer.unpinned").length, 1);
        assert.equal(getPin(store, "server"), null);
        const denied = recs.filter((r) => r.kind === "outbound.decision" && r.decision === "deny")
          .map((r) => r.rule);
        assert.deepEqual(denied, [
          "outbound.peer_foreign",
          "outbound.name_ambiguous",
          "outbound.whois_mismatch",
          "outbound.pin_mismatch",
          "outbound.pin_mismatch",
        ]);
      });
    } finally {
      for (const node of nodes) await node.stop().catch(() => {});
      for (const d of doubles) await d.close().catch(() => {});
      await topo?.destroy();
      await Deno.remove(base, { recursive: true }).catch(() => {});
    }
  },
});
