/**
 * System tests of issue 13 items 1 and 7 with real kernel sockets in network namespaces, a
 * real `cmesh daemon` and the LocalAPI double (see `worker_world.ts`):
 *
 * - the worker refuses browsers (`Origin`, cross-site `Sec-Fetch-Site`) and foreign `Host`
 *   headers (DNS rebinding) before whois, stores nothing, audits why (rate-limited), and
 *   still serves its own addresses and MagicDNS names;
 * - identity follows tailscaled's IPN bus: a removed node is refused as soon as the bus says
 *   so (its cached whois answer is forgotten), a re-login's new StableID counts as "this node",
 *   and a new MagicDNS name is accepted as Host while the old one is refused.
 *
 * Needs root and iproute2 (network namespaces); skipped with the reason otherwise.
 */
import assert from "node:assert/strict";
import { listAudit } from "../../src/store/audit.ts";
import { openStore } from "../../src/store/db.ts";
import { curlFrom, systemTestSkipReason, waitFor } from "../support/netns.ts";
import {
  CLIENT_IPS,
  createWorkerWorld,
  errorOf,
  show,
  taskId,
  whoisAddrs,
  WORKER_PORT,
  WORKER_TAILNET_IP,
} from "./worker_world.ts";

const SKIP = systemTestSkipReason();
if (SKIP) console.warn(`tests/system/worker_front_door_test.ts skipped: ${SKIP}`);

const SUFFIX = "tail4c2e1.ts.net";

Deno.test({
  name:
    "system: worker front door refuses browsers and foreign Hosts; identity follows the IPN bus",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const w = await createWorkerWorld();
    try {
      await w.startDaemon();
      const body = (id: string) => ({
        id,
        prompt: '[{"claude":"result","text":"done"}]',
        cwd: w.repo,
        profile: "query",
        runner: "fake",
      });
      assert.ok((await w.double.watchers()) >= 1, "the worker watches the IPN bus");

      await t.step(
        "1a. a valid task with Origin or a foreign Host is refused, nothing stored",
        async () => {
          const before = whoisAddrs(await w.double.requests()).length;
          for (
            const [headers, rule] of [
              [{ Origin: "http://evil.example" }, "front.origin"],
              [{ Host: `evil.example:${WORKER_PORT}` }, "front.host"],
              [{ "Sec-Fetch-Site": "cross-site" }, "front.origin"],
            ] as const
          ) {
            const id = taskId("front");
            const r = await w.request("laptop", "POST", "/v1/tasks", { json: body(id), headers });
            assert.equal(r.status, 403, show(r));
            assert.equal(errorOf(r).code, "forbidden");
            assert.equal(errorOf(r).rule, rule, show(r));
            const st = await w.request("laptop", "GET", `/v1/tasks/${id}`);
            assert.equal(st.status, 404, `nothing stored: ${show(st)}`);
          }
          const asked = whoisAddrs(await w.double.requests()).slice(before);
          assert.ok(
            asked.length <= 3,
            `only the three status read-backs asked whois, not the refused requests: ${asked}`,
          );
        },
      );

      await t.step("1b. a result cannot be read back with Origin or a foreign Host", async () => {
        const id = taskId("legit");
        const ok = await w.request("laptop", "POST", "/v1/tasks", { json: body(id) });
        assert.equal(ok.status, 202, show(ok));
        await waitFor("the task to finish", async () => {
          const r = await w.request("laptop", "GET", `/v1/tasks/${id}/result`);
          return r.status === 200 ? r : undefined;
        });
        for (
          const headers of [
            { Origin: "http://evil.example" },
            { Host: "evil.example:7433" },
          ] as Record<string, string>[]
        ) {
          const r = await w.request("laptop", "GET", `/v1/tasks/${id}/result`, { headers });
          assert.equal(r.status, 403, show(r));
          assert.doesNotMatch(r.text, /done/, "no result text leaks");
        }
      });

      await t.step("1c. this node's IP, IP:port and MagicDNS names still work", async () => {
        for (
          const host of [
            WORKER_TAILNET_IP,
            `${WORKER_TAILNET_IP}:${WORKER_PORT}`,
            `worker.${SUFFIX}:${WORKER_PORT}`,
            `worker.${SUFFIX}.`,
            `worker:${WORKER_PORT}`,
          ]
        ) {
          const r = await w.request("laptop", "GET", "/v1/hello", { headers: { Host: host } });
          assert.equal(r.status, 200, `${host}: ${show(r)}`);
        }
      });

      await t.step("1d. a flood of foreign Hosts does not flood the audit log", async () => {
        await Promise.all(
          Array.from(
            { length: 30 },
            () => w.request("laptop", "GET", "/v1/hello", { headers: { Host: "flood.example" } }),
          ),
        );
      });

      await t.step("7a. a removed node is refused as soon as the bus reports it", async () => {
        const hello = await w.request("desktop", "GET", "/v1/hello");
        assert.equal(hello.status, 200, show(hello));
        const before = (await w.double.requests()).length;
        await w.double.update({
          nodes: [
            { name: "laptop", ips: [CLIENT_IPS.laptop], login: "alice@example.com" },
            { name: "printer", ips: [CLIENT_IPS.printer], tags: ["tag:printer"] },
          ],
        });
        // The worker re-reads status when the bus reports the change: wait for that, then ask.
        await waitFor(
          "the worker to re-read status",
          async () =>
            (await w.double.requests()).slice(before).some((r) => r.path === "/localapi/v0/status")
              ? true
              : undefined,
        );
        const gone = await w.request("desktop", "GET", "/v1/hello");
        assert.equal(gone.status, 403, show(gone));
        assert.equal(errorOf(gone).rule, "identity.unknown_peer");
        const asked = whoisAddrs((await w.double.requests()).slice(before));
        assert.ok(
          asked.some((a) => a.startsWith(`${CLIENT_IPS.desktop}:`)),
          "the cached answer was not reused",
        );
      });

      await t.step(
        "7b. after a re-login, the new StableID is this node and the new name its Host",
        async () => {
          const self = { name: "worker", ips: [WORKER_TAILNET_IP], tags: ["tag:worker"] };
          const before = (await w.double.requests()).length;
          await w.double.update({ self: { ...self, name: "worker2", stableId: "nRELOGIN2CNTRL" } });
          await waitFor(
            "the worker to re-read status",
            async () =>
              (await w.double.requests()).slice(before).some((r) =>
                  r.path === "/localapi/v0/status"
                )
                ? true
                : undefined,
          );
          // A local process calling the node's own tailnet address: whois names the new self.
          const own = await curlFrom(
            w.workerNs,
            "GET",
            `http://${WORKER_TAILNET_IP}:${WORKER_PORT}/v1/hello`,
            {
              sourceIp: WORKER_TAILNET_IP,
            },
          );
          assert.equal(own.status, 403, `${own.status} ${own.text}`);
          assert.match(own.text, /this node itself/);
          const renamed = await w.request("laptop", "GET", "/v1/hello", {
            headers: { Host: `worker2.${SUFFIX}:${WORKER_PORT}` },
          });
          assert.equal(renamed.status, 200, show(renamed));
          const old = await w.request("laptop", "GET", "/v1/hello", {
            headers: { Host: `worker.${SUFFIX}:${WORKER_PORT}` },
          });
          assert.equal(old.status, 403, show(old));
          assert.equal(errorOf(old).rule, "front.host");
        },
      );

      await t.step("audit: refusals say why; the flood is capped", async () => {
        await w.stopDaemon();
        using store = openStore(w.dbPath);
        const all = listAudit(store, { limit: 10_000 }).filter((r) => r.kind === "request.denied");
        const origin = all.filter((r) => r.rule === "front.origin");
        const host = all.filter((r) => r.rule === "front.host");
        assert.ok(origin.some((r) => /evil\.example/.test(r.reason ?? "")), "Origin named");
        assert.ok(host.some((r) => /evil\.example:7433/.test(r.reason ?? "")), "Host named");
        assert.ok(origin.every((r) => r.actor?.source_ip === CLIENT_IPS.laptop));
        assert.ok(host.length <= 20, `at most 20 front.host records a minute, got ${host.length}`);
      });
    } finally {
      await w.destroy();
    }
  },
});
