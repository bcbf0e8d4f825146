/**
 * System tests of the worker's front door, with real kernel sockets in network namespaces and
 * a real `cmesh daemon` (see `worker_world.ts` for the topology): where it binds, which source
 * addresses it refuses before asking tailscaled, unknown and unanswerable callers (fail
 * closed), forged identity headers, and cwd escapes.
 *
 * Needs root and iproute2: creating network namespaces is a privileged operation. Without them
 * the whole file is skipped (reported as "ignored", with the reason printed once); CI runs it
 * as root through `.ci/run`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listAudit } from "../../src/store/audit.ts";
import { verifyAudit } from "../../src/store/audit_verify.ts";
import { openStore } from "../../src/store/db.ts";
import { nsRun, systemTestSkipReason } from "../support/netns.ts";
import {
  CLIENT_IPS,
  CONTROL_PORT,
  createWorkerWorld,
  errorOf,
  show,
  taskId,
  whoisAddrs,
  WORKER_LAN_IP,
  WORKER_PORT,
  WORKER_TAILNET_IP,
} from "./worker_world.ts";

const SKIP = systemTestSkipReason();
if (SKIP) console.warn(`tests/system/worker_guards_test.ts skipped: ${SKIP}`);

/** Headers a `tailscale serve` front or a proxy would set; anyone can send them. */
const FORGED = {
  "Tailscale-User-Login": "alice@example.com",
  "Tailscale-User-Name": "Alice",
  "Tailscale-Headers-Info": "https://tailscale.com/s/serve-headers",
  "X-Forwarded-For": CLIENT_IPS.laptop,
  "X-Real-IP": CLIENT_IPS.laptop,
  "Forwarded": `for=${CLIENT_IPS.laptop}`,
};

Deno.test({
  name: "system: worker front door in network namespaces (bind, source, whois, headers, cwd)",
  ignore: SKIP !== null,
  // Child processes and their pipes outlive single steps by design; the world cleans up.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const w = await createWorkerWorld();
    try {
      const daemon = await w.startDaemon();
      assert.deepEqual(daemon.ready.worker, [`${WORKER_TAILNET_IP}:${WORKER_PORT}`]);
      const taskBody = (id: string, cwd = w.repo) => ({
        id,
        prompt: '[{"claude":"result","text":"must not run"}]',
        cwd,
        profile: "query",
        runner: "fake",
      });

      await t.step("1. the worker binds its tailnet address only, never a wildcard", async () => {
        const ss = await nsRun(w.workerNs, ["/usr/bin/ss", "-ltnH"]);
        assert.equal(ss.code, 0, ss.stderr);
        const locals = ss.stdout.split("\n").filter((l) => l.trim()).map((l) =>
          l.trim().split(/\s+/)[3]
        );
        assert.deepEqual(
          locals.filter((a) => a.endsWith(`:${WORKER_PORT}`)),
          [`${WORKER_TAILNET_IP}:${WORKER_PORT}`],
          `listeners in the worker namespace: ${locals.join(", ")}`,
        );
        for (const a of locals) {
          assert.doesNotMatch(
            a,
            /^(0\.0\.0\.0|\*|\[::\]|::|\[::ffff:0\.0\.0\.0\]):/,
            `wildcard ${a}`,
          );
        }
        // Nothing listens on the worker's non-tailnet address: the kernel refuses the connection.
        for (const port of [WORKER_PORT, CONTROL_PORT]) {
          const r = await w.request("lan", "GET", "/v1/hello", { host: WORKER_LAN_IP, port });
          assert.equal(r.curlExit, 7, `expected connection refused on ${port}: ${show(r)}`);
          assert.match(r.stderr, /refused|Couldn't connect/i, show(r));
        }
        // Control: the same client does reach the tailnet address over the same link.
        const via = await w.request("lan", "GET", "/v1/hello");
        assert.equal(via.curlExit, 0, show(via));
        const ok = await w.request("laptop", "GET", "/v1/hello");
        assert.equal(ok.status, 200, show(ok));
      });

      await t.step("2. a non-tailnet source is refused before any whois", async () => {
        const before = await w.double.requests();
        const hello = await w.request("lan", "GET", "/v1/hello");
        assert.equal(hello.status, 403, show(hello));
        assert.equal(errorOf(hello).code, "not_tailnet");
        assert.equal(errorOf(hello).rule, "source.not_tailnet");
        assert.match(errorOf(hello).message ?? "", /10\.99\.0\.2/);
        const post = await w.request("lan", "POST", "/v1/tasks", { json: taskBody(taskId("lan")) });
        assert.equal(post.status, 403, show(post));
        assert.equal(errorOf(post).code, "not_tailnet");
        const after = await w.double.requests();
        assert.deepEqual(after.slice(before.length), [], "the LocalAPI was asked nothing");
        assert.ok(!whoisAddrs(after).some((a) => a.startsWith(CLIENT_IPS.lan)));
        // Control: a tailnet source does cause a whois, naming its real address and port.
        await w.request("stranger", "GET", "/v1/hello");
        const asked = whoisAddrs((await w.double.requests()).slice(after.length));
        assert.equal(asked.length, 1, `whois calls: ${asked}`);
        assert.match(asked[0], new RegExp(`^${CLIENT_IPS.stranger.replaceAll(".", "\\.")}:\\d+$`));
        assert.notEqual(asked[0].split(":")[1], "0");
      });

      await t.step("3a. an unknown peer (whois 404) is refused", async () => {
        const hello = await w.request("stranger", "GET", "/v1/hello");
        assert.equal(hello.status, 403, show(hello));
        assert.equal(errorOf(hello).code, "unknown_peer");
        assert.equal(errorOf(hello).rule, "identity.unknown_peer");
        const post = await w.request("stranger", "POST", "/v1/tasks", {
          json: taskBody(taskId("stranger")),
        });
        assert.equal(post.status, 403, show(post));
        assert.equal(errorOf(post).code, "unknown_peer");
      });

      await t.step("3b. a known node that no rule names is denied by policy", async () => {
        const hello = await w.request("printer", "GET", "/v1/hello");
        assert.equal(hello.status, 200, show(hello));
        const body = hello.json as { you: unknown; allowed: { rules: unknown[] } };
        assert.deepEqual(body.you, { node: "printer", login: null, tags: ["tag:printer"] });
        assert.deepEqual(body.allowed.rules, []);
        const id = taskId("printer");
        const post = await w.request("printer", "POST", "/v1/tasks", { json: taskBody(id) });
        assert.equal(post.status, 403, show(post));
        assert.equal(errorOf(post).code, "denied");
        assert.equal(errorOf(post).rule, "inbound.no_matching_rule");
      });

      await t.step("3c. LocalAPI errors, bad JSON or no LocalAPI: 503, fail closed", async () => {
        // desktop is allowed by policy and not yet cached: only the LocalAPI stands in the way.
        await w.double.failNext(500);
        const e500 = await w.request("desktop", "GET", "/v1/hello");
        assert.equal(e500.status, 503, show(e500));
        assert.equal(errorOf(e500).code, "identity_unavailable");
        assert.equal(errorOf(e500).rule, "identity.unavailable");
        await w.double.respondNext(200, '{"Node": {"Name": "desktop.", "Addresses": [');
        const bad = await w.request("desktop", "GET", "/v1/hello");
        assert.equal(bad.status, 503, show(bad));
        assert.equal(errorOf(bad).code, "identity_unavailable");
        await w.double.pause();
        try {
          const down = await w.request("desktop", "POST", "/v1/tasks", {
            json: taskBody(taskId("down")),
          });
          assert.equal(down.status, 503, show(down));
          assert.equal(errorOf(down).code, "identity_unavailable");
        } finally {
          await w.double.resume();
        }
        // Failures are not remembered: once tailscaled answers, desktop gets in.
        const ok = await w.request("desktop", "GET", "/v1/hello");
        assert.equal(ok.status, 200, show(ok));
      });

      await t.step("5. forged identity headers are ignored", async () => {
        const before = (await w.double.requests()).length;
        const stranger = await w.request("stranger", "GET", "/v1/hello", { headers: FORGED });
        assert.equal(stranger.status, 403, show(stranger));
        assert.equal(errorOf(stranger).code, "unknown_peer");
        assert.match(errorOf(stranger).message ?? "", /100\.64\.0\.3/);
        const lan = await w.request("lan", "GET", "/v1/hello", { headers: FORGED });
        assert.equal(lan.status, 403, show(lan));
        assert.equal(errorOf(lan).code, "not_tailnet");
        const laptop = await w.request("laptop", "GET", "/v1/hello", {
          headers: {
            ...FORGED,
            "Tailscale-User-Login": "bob@example.com",
            "X-Forwarded-For": CLIENT_IPS.desktop,
            "Forwarded": `for=${CLIENT_IPS.desktop}`,
          },
        });
        assert.equal(laptop.status, 200, show(laptop));
        assert.deepEqual((laptop.json as { you: unknown }).you, {
          node: "laptop",
          login: "alice@example.com",
          tags: [],
        });
        // whois only ever heard the connections' own addresses.
        const asked = whoisAddrs((await w.double.requests()).slice(before));
        assert.ok(asked.length >= 1, "the stranger's request was whois'd");
        for (const a of asked) {
          assert.ok(
            a.startsWith(`${CLIENT_IPS.stranger}:`) || a.startsWith(`${CLIENT_IPS.laptop}:`),
            `unexpected whois ${a}`,
          );
        }
      });

      const cwdIds: string[] = [];
      await t.step(
        "6. cwd escapes (symlink, ..) are refused with the rule and the roots",
        async () => {
          await Deno.symlink("../../outside", join(w.repo, "rel-link"));
          const cases = [
            { cwd: join(w.root, "escape"), resolves: w.outside },
            { cwd: join(w.repo, "rel-link"), resolves: w.outside },
            { cwd: `${w.repo}/../../outside`, resolves: null },
          ];
          for (const c of cases) {
            const id = taskId("cwd");
            cwdIds.push(id);
            const r = await w.request("laptop", "POST", "/v1/tasks", { json: taskBody(id, c.cwd) });
            assert.equal(r.status, 403, `${c.cwd}: ${show(r)}`);
            const err = errorOf(r);
            assert.equal(err.code, "denied", show(r));
            assert.equal(err.rule, "inbound.allow[0].cwd", show(r));
            assert.match(err.message ?? "", /outside the allowed roots/);
            assert.ok(err.message?.includes(w.root), `the reason names the root: ${err.message}`);
            if (c.resolves) {
              assert.ok(err.message?.includes(`resolves to ${c.resolves}`), err.message);
            }
            const status = await w.request("laptop", "GET", `/v1/tasks/${id}`);
            assert.equal(status.status, 404, `a denied request leaves no task: ${show(status)}`);
          }
        },
      );

      await t.step("6b. symlink then '..' never yields a cwd outside the root", async () => {
        // POSIX resolves root/escape/.. to the parent of the symlink's target (outside the
        // root); the sandboxed worker's realPath normalises '..' first (root). Either way the
        // task must not run outside the root: refused, or admitted with a cwd inside it.
        const id = taskId("cwddots");
        const r = await w.request("laptop", "POST", "/v1/tasks", {
          json: taskBody(id, join(w.root, "escape", "..")),
        });
        if (r.status === 403) {
          assert.equal(errorOf(r).rule, "inbound.allow[0].cwd", show(r));
        } else {
          assert.equal(r.status, 202, show(r));
          const cwd = (r.json as { task: { cwd: string } }).task.cwd;
          assert.ok(cwd === w.root || cwd.startsWith(`${w.root}/`), `task cwd ${cwd}`);
        }
      });

      await t.step("audit: every refusal above is recorded and the chain verifies", async () => {
        await w.stopDaemon();
        using store = openStore(w.dbPath);
        const report = verifyAudit(store);
        assert.equal(report.ok, true, JSON.stringify(report.first_bad));
        const all = listAudit(store, { limit: 10_000 });
        const denied = (rule: string) =>
          all.filter((r) => r.kind === "request.denied" && r.rule === rule);
        assert.ok(
          denied("source.not_tailnet").some((r) => r.actor?.source_ip === CLIENT_IPS.lan),
          "not_tailnet denial with the source address",
        );
        assert.ok(
          denied("identity.unknown_peer").some((r) => r.actor?.source_ip === CLIENT_IPS.stranger),
        );
        assert.ok(denied("identity.unavailable").length >= 3, "three fail-closed denials");
        const printer = all.find((r) =>
          r.kind === "task.decision" && r.rule === "inbound.no_matching_rule"
        );
        assert.equal(printer?.actor?.node, "printer");
        assert.equal(printer?.decision, "deny");
        for (const id of cwdIds) {
          const rec = all.find((r) => r.task_id === id && r.kind === "task.decision");
          assert.equal(rec?.decision, "deny", `audit for ${id}`);
          assert.equal(rec?.rule, "inbound.allow[0].cwd");
          assert.equal(rec?.actor?.node, "laptop");
          assert.equal(rec?.actor?.login, "alice@example.com");
        }
      });
    } finally {
      await w.destroy();
    }
  },
});
