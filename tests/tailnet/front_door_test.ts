/**
 * @module
 * Issue 13 items 1 and 7 over a real tailnet (pinned tailscaled + headscale in network
 * namespaces; see `world.ts`):
 *
 * - a DNS-rebinding request (foreign `Host`) or a browser request (`Origin`) from an allowed
 *   tailnet node is refused by the worker before anything runs, and audited; the node's real
 *   MagicDNS name is accepted;
 * - identity freshness: the server's cmesh learns from tailscaled's IPN bus that the laptop's
 *   grant was removed, or that the laptop's key expired, and stops trusting a whois answer it
 *   cached a moment earlier (the cache would otherwise keep it for 2 s).
 *
 * Needs root and the binaries from `tests/tailnet/build_bins.sh`; otherwise skipped with the
 * reason (bins.ts). Run: `deno test -P tests/tailnet/front_door_test.ts`.
 */
import assert from "node:assert/strict";
import { curlFrom } from "../support/netns.ts";
import { findBins, tailnetSkipReason } from "./bins.ts";
import { lanGone } from "./net.ts";
import { REV_CAP, tailnetPolicy } from "./policy.ts";
import { waitUntil } from "./proc.ts";
import { createTailnetWorld, initialPolicy, WORKER_PORT } from "./world.ts";

const skip = await tailnetSkipReason();
if (skip) console.log(`tests/tailnet/front_door_test.ts skipped: ${skip}`);

Deno.test({
  name: "real tailnet: the worker's front door and identity freshness (IPN bus)",
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const bins = (await findBins())!;
    const w = await createTailnetWorld(bins);
    const onSignal = () => {
      w.destroy().finally(() => Deno.exit(130));
    };
    for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, onSignal);
    const results: boolean[] = [];
    const worker = `http://${w.ip.server}:${WORKER_PORT}`;
    const fromLaptop = (
      method: string,
      path: string,
      opts: { json?: unknown; headers?: Record<string, string> } = {},
    ) => curlFrom(w.lan.ns.laptop, method, `${worker}${path}`, { ...opts, maxTimeS: 10 });
    const task = (label: string) => ({
      id: `t-${label}-${crypto.randomUUID().slice(0, 8)}`,
      prompt: "list the files",
      cwd: w.repo,
      profile: "query",
      runner: "demo",
    });
    try {
      results.push(
        await t.step("a foreign Host or an Origin from an allowed node is refused", async () => {
          for (
            const [headers, rule] of [
              [{ Host: `evil.example:${WORKER_PORT}` }, "front.host"],
              [{ Origin: "http://evil.example" }, "front.origin"],
            ] as [Record<string, string>, string][]
          ) {
            const body = task("front");
            const r = await fromLaptop("POST", "/v1/tasks", { json: body, headers });
            assert.equal(r.status, 403, `${r.status} ${r.text}`);
            const err = (r.json as { error?: { rule?: string } }).error;
            assert.equal(err?.rule, rule, r.text);
            const st = await fromLaptop("GET", `/v1/tasks/${body.id}`);
            assert.equal(st.status, 404, `nothing stored: ${st.text}`);
          }
          // The server's real MagicDNS name (from its tailscaled status) is this node.
          const named = await fromLaptop("GET", "/v1/hello", {
            headers: { Host: `server.tailnet.cmesh.test:${WORKER_PORT}` },
          });
          assert.equal(named.status, 200, named.text);
          const audit = await w.audit("server");
          const host = audit.filter((a) => a.rule === "front.host");
          assert.ok(host.some((a) => a.actor?.source_ip === w.ip.laptop), JSON.stringify(host));
          assert.ok(audit.some((a) => a.rule === "front.origin"));
        }),
      );

      results.push(
        await t.step(
          "a removed grant takes effect as soon as tailscaled reports it, cache or not",
          async () => {
            // Let answers cached by the step before expire (2 s), then cache the laptop's
            // identity (with the cmesh capability) afresh ...
            await new Promise((r) => setTimeout(r, 2200));
            const hello = await fromLaptop("GET", "/v1/hello");
            assert.equal(hello.status, 200, hello.text);
            // ... then the admin removes the grant; no waiting out the cache (unlike setPolicy).
            const rev = w.policy.rev + 1;
            w.policy = { ...initialPolicy(w.root), laptopCmesh: null, rev };
            await w.hs.setPolicy(tailnetPolicy(w.policy));
            await waitUntil("the server's tailscaled to have the new policy", async () => {
              const who = await w.nodes.server.whois(w.ip.laptop);
              const caps = (who?.CapMap ?? {}) as Record<string, Array<{ rev?: number }>>;
              return caps[REV_CAP]?.some((v) => v.rev === rev) ? true : undefined;
            });
            const r = await fromLaptop("POST", "/v1/tasks", { json: task("nogrant") });
            assert.equal(r.status, 403, `${r.status} ${r.text}`);
            assert.equal((r.json as { error?: { rule?: string } }).error?.rule, "grant.missing");
          },
        ),
      );

      results.push(
        await t.step("a node whose key expired is refused once the bus reports it", async () => {
          w.policy = { ...initialPolicy(w.root), rev: w.policy.rev + 1 };
          await w.hs.setPolicy(tailnetPolicy(w.policy));
          await waitUntil("the grant back", async () => {
            const r = await fromLaptop("GET", "/v1/hello");
            return r.status === 200 ? true : undefined;
          });
          const nodes = (await w.hs.cli("nodes", "list")) as Array<
            { id: number | string; name?: string; given_name?: string }
          >;
          const laptop = nodes.find((n) => n.given_name === "laptop" || n.name === "laptop");
          assert.ok(laptop, JSON.stringify(nodes).slice(0, 500));
          await w.hs.cli("nodes", "expire", "--identifier", String(laptop.id));
          await waitUntil("the server's tailscaled to see the laptop expired", async () => {
            const who = await w.nodes.server.whois(w.ip.laptop);
            const node = who?.Node as { Expired?: boolean } | undefined;
            return who === null || node?.Expired ? true : undefined;
          });
          const r = await fromLaptop("GET", "/v1/hello");
          // tailscaled may drop the expired peer's packets (no answer), or deliver them; then
          // whois says Expired and cmesh refuses it. Never a 200 from a cached answer.
          assert.notEqual(r.status, 200, `${r.status} ${r.text}`);
          if (r.status !== 0) {
            assert.equal(r.status, 403, r.text);
            assert.equal(
              (r.json as { error?: { rule?: string } }).error?.rule,
              "identity.refused",
              r.text,
            );
          }
        }),
      );
    } finally {
      if (results.includes(false)) console.error(await w.diagnostics());
      await w.destroy();
      for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(sig, onSignal);
      assert.ok(await lanGone(w.lan), "namespaces left behind");
    }
  },
});
