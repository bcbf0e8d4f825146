/**
 * Denials end to end through real processes (see `e2e_world.ts`), each asserting the text an
 * agent sees in the `isError` tool result of `cmesh mcp`:
 *
 * - my own outbound policy (cwd outside `outbound.peers[].cwd`): nothing reaches the worker;
 * - the worker's inbound policy, labelled as the peer's: a requester no rule names (printer),
 *   a cwd outside the rule's roots, a profile the rule does not give;
 * - the peer offline (Tailscale status says so), the worker daemon stopped (connection
 *   refused at its tailnet address);
 * - my own daemon not running (the tool says how to start it), and back once it runs again.
 *
 * All three audit chains verify afterwards and hold the denials with their rules.
 *
 * Needs root, iproute2, curl, ps, ss, setsid and git; skipped with the reason printed otherwise.
 */
import assert from "node:assert/strict";
import { listAudit } from "../../src/store/audit.ts";
import { verifyAudit } from "../../src/store/audit_verify.ts";
import { openStore } from "../../src/store/db.ts";
import { whoisAddrs } from "./worker_world.ts";
import {
  CONTROL_PORT,
  createE2eWorld,
  e2eSkipReason,
  IPS,
  type McpSession,
  textOf,
  WORKER_PORT,
} from "./e2e_world.ts";

const SKIP = e2eSkipReason();
if (SKIP) console.warn(`tests/system/e2e_denials_test.ts skipped: ${SKIP}`);

const MUST_NOT_RUN = '[{"claude":"result","text":"must not run"}]';

/** Calls cmesh_delegate and returns the error text (asserting it is an error without data). */
async function refused(mcp: McpSession, args: Record<string, unknown>): Promise<string> {
  const res = await mcp.call("cmesh_delegate", { task: MUST_NOT_RUN, profile: "query", ...args });
  const text = textOf(res);
  assert.equal(res.isError, true, text);
  assert.equal(res.structuredContent, undefined, "errors carry no structuredContent");
  return text;
}

/** Asserts `text` contains every one of `parts`, showing the whole text when not. */
function includesAll(text: string, ...parts: string[]): void {
  for (const p of parts) assert.ok(text.includes(p), `missing ${JSON.stringify(p)} in:\n${text}`);
}

/** One outbound task as `cmesh_tasks` lists it. */
interface ListedTask {
  id: string;
  state: string;
  cwd: string;
  profile: string;
  error: { code: string; rule?: string } | null;
}

async function listed(mcp: McpSession, args: Record<string, unknown> = {}): Promise<ListedTask[]> {
  const res = await mcp.call("cmesh_tasks", { limit: 100, ...args });
  assert.notEqual(res.isError, true, textOf(res));
  return (res.structuredContent as { tasks: ListedTask[] }).tasks;
}

/** The frame every refusal by the peer's own policy gets, around the peer's quoted reason. */
function peerRefusal(rule: string, reason: string): string[] {
  return [
    `Refused by server: this is server's own policy decision, quoted as it gave it (peer rule ${rule}):\n`,
    `server refused the task [peer rule ${rule}]: "${reason}" (this is server's own reason)\n`,
    "Call cmesh_peers to see what server allows you (profiles, cwd roots, runners) and retry " +
    "within that, or ask server's owner to widen its inbound.allow rules.\n" +
    `[error peer_denied, rule ${rule}]`,
  ];
}

Deno.test({
  name: "system e2e: denials and failures as an agent sees them through cmesh mcp",
  ignore: SKIP !== null,
  // Child processes and their pipes outlive single steps by design; the world cleans up.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const w = await createE2eWorld({ printer: true });
    try {
      const laptop = await w.laptop.connectMcp();
      const printer = await w.printer!.connectMcp();

      await t.step("my outbound policy: cwd outside outbound.peers[0].cwd", async () => {
        const text = await refused(laptop, { peer: "server", cwd: "/etc" });
        assert.equal(
          text,
          "Denied by your own outbound policy (rule outbound.cwd), before anything was sent: " +
            "cwd /etc is not allowed for peer server (outbound.peers[0]); allowed cwd patterns: " +
            `${w.base}/** (use a cwd matching one of the patterns, or add one to ` +
            "outbound.peers[0].cwd)\n" +
            "Call cmesh_peers to see which profiles and cwd patterns you may send to each peer.\n" +
            "[error denied, rule outbound.cwd]",
        );
        // The world is fresh: had anything reached the worker, it would have asked who called.
        assert.deepEqual(whoisAddrs(await w.server.double.requests()), [], "nothing was sent");
        assert.deepEqual(await listed(laptop), [], "an outbound denial records no task");
      });

      await t.step("the peer's policy: a requester none of its rules names", async () => {
        const text = await refused(printer, { peer: "server", cwd: w.repo });
        includesAll(
          text,
          ...peerRefusal(
            "inbound.no_matching_rule",
            "no [[inbound.allow]] rule on this node matches the caller (node printer, DNS name " +
              "printer.tail4c2e1.ts.net, tags tag:printer, no login (tagged node)) (the owner of " +
              "this node can add a rule naming printer in peers, one of its tags, or its login)",
          ),
        );
        assert.ok(text.startsWith("Refused by server:"), text);
        assert.ok(
          whoisAddrs(await w.server.double.requests()).some((a) => a.startsWith(`${IPS.printer}:`)),
          "the worker identified the printer by its own source address",
        );
      });

      await t.step("the peer's policy: cwd outside the rule's roots", async () => {
        const text = await refused(laptop, { peer: "server", cwd: w.outside });
        includesAll(
          text,
          ...peerRefusal(
            "inbound.allow[0].cwd",
            `cwd ${w.outside} is outside the allowed roots for laptop: ${w.root} ` +
              "(inbound.allow[0]) (use a cwd inside one of the allowed roots)",
          ),
        );
        assert.ok(text.startsWith("Refused by server:"), text);
      });

      await t.step("the peer's policy: a profile the rule does not give", async () => {
        const text = await refused(laptop, { peer: "server", cwd: w.repo, profile: "build" });
        includesAll(
          text,
          ...peerRefusal(
            "inbound.allow[0].profile",
            "profile build is not allowed for laptop by inbound.allow[0] (matched by peer " +
              "laptop); allowed profiles: query, edit (use one of the allowed profiles, or the " +
              'owner of this node adds "build" to inbound.allow[0].profiles)',
          ),
        );
        assert.ok(text.startsWith("Refused by server:"), text);
      });

      await t.step("the peer's refusals are on record as denied, with its rules", async () => {
        const mine = await listed(laptop, { state: "denied" });
        assert.deepEqual(
          mine.map((x) => [x.cwd, x.profile, x.error?.code, x.error?.rule]).sort(),
          [
            [w.outside, "query", "denied_by_peer", "inbound.allow[0].cwd"],
            [w.repo, "build", "denied_by_peer", "inbound.allow[0].profile"],
          ].sort(),
        );
        const theirs = await listed(printer, { state: "denied" });
        assert.deepEqual(theirs.map((x) => x.error?.rule), ["inbound.no_matching_rule"]);
      });

      await t.step("peer offline: Tailscale status says it is not connected", async () => {
        const text = await refused(laptop, { peer: "sleeper", cwd: w.repo });
        assert.equal(
          text,
          "Could not reach cmesh on sleeper; the task did not start: sleeper is offline on the " +
            "tailnet (Tailscale reports it not connected); wake it or try later\n" +
            "Call cmesh_peers to see which peers are online.\n" +
            "[error peer_unreachable]",
        );
        const peers = await laptop.call("cmesh_peers", {});
        assert.match(textOf(peers), /^sleeper: offline$/m);
        assert.match(textOf(peers), /^server \(100\.64\.0\.1:7433\): online, cmesh answering$/m);
      });

      await t.step("worker daemon stopped: its address refuses the connection", async () => {
        await w.server.stopDaemon();
        const text = await refused(laptop, { peer: "server", cwd: w.repo });
        assert.equal(
          text,
          "Could not reach cmesh on server; the task did not start: server " +
            `(${IPS.server}:${WORKER_PORT}) refused the connection: it is online but cmesh is ` +
            "not listening there. On server, start it with 'cmesh daemon' (and check " +
            "daemon.worker_port)\n" +
            "Call cmesh_peers to see which peers are online.\n" +
            "[error peer_not_cmesh]",
        );
        // Both attempts that passed my policy are stored: the offline peer and this one.
        const failed = await listed(laptop, { state: "failed" });
        assert.deepEqual(failed.map((x) => x.error?.code).sort(), ["not_cmesh", "unreachable"]);
        const peers = textOf(await laptop.call("cmesh_peers", {}));
        assert.match(peers, /^server \(100\.64\.0\.1:7433\): online, cmesh NOT answering$/m);
      });

      await t.step("my daemon not running: every tool says how to start it", async () => {
        await w.laptop.stopDaemon();
        const expected = "the cmesh daemon is not running (nothing answers on " +
          `127.0.0.1:${CONTROL_PORT}). Start it with 'cmesh daemon' (or 'cmesh service ` +
          `install' to keep it running), using config ${w.laptop.configFile}\n` +
          "The MCP server itself is fine; the tools need that local daemon. Ask the user to " +
          "start it, then retry.\n" +
          "[error daemon_not_running]";
        assert.equal(await refused(laptop, { peer: "server", cwd: w.repo }), expected);
        for (
          const [tool, args] of [
            ["cmesh_peers", {}],
            ["cmesh_tasks", {}],
            ["cmesh_wait", { task_id: "t0000000000000000", wait_seconds: 1 }],
            ["cmesh_result", { task_id: "t0000000000000000" }],
          ] as const
        ) {
          const res = await laptop.call(tool, args);
          assert.equal(res.isError, true, tool);
          assert.equal(textOf(res), expected, tool);
        }
      });

      await t.step("started again, the same cmesh mcp works without a restart", async () => {
        await w.laptop.startDaemon();
        const all = await listed(laptop);
        assert.equal(all.length, 4, JSON.stringify(all));
      });

      await t.step(
        "every audit chain verifies and holds the denials with their rules",
        async () => {
          const tasks = await listed(laptop);
          const printerTasks = await listed(printer);
          await laptop.close();
          await printer.close();
          await w.laptop.stopDaemon();
          await w.printer!.stopDaemon();
          const idOf = (list: ListedTask[], rule: string) =>
            list.find((x) => x.error?.rule === rule)!.id;

          {
            using store = openStore(w.laptop.dbPath);
            const report = verifyAudit(store);
            assert.equal(report.ok, true, JSON.stringify(report));
            const all = listAudit(store, { limit: 10_000 });
            const local = all.filter((r) =>
              r.kind === "outbound.decision" && r.decision === "deny"
            );
            assert.deepEqual(local.map((r) => [r.rule, (r.data as { cwd?: string }).cwd]), [
              ["outbound.cwd", "/etc"],
            ]);
            for (const rule of ["inbound.allow[0].cwd", "inbound.allow[0].profile"]) {
              const recs = listAudit(store, { taskId: idOf(tasks, rule) });
              const failed = recs.find((r) => r.kind === "outbound.failed");
              assert.equal(failed?.decision, "deny", rule);
              assert.equal(failed?.rule, rule);
              assert.ok(recs.some((r) => r.kind === "outbound.decision" && r.decision === "allow"));
              assert.ok(!recs.some((r) => r.kind === "outbound.dispatch"), "never accepted");
            }
          }
          {
            using store = openStore(w.printer!.dbPath);
            const report = verifyAudit(store);
            assert.equal(report.ok, true, JSON.stringify(report));
            const recs = listAudit(store, { taskId: printerTasks[0].id });
            const failed = recs.find((r) => r.kind === "outbound.failed");
            assert.equal(failed?.rule, "inbound.no_matching_rule");
          }
          {
            using store = openStore(w.server.dbPath);
            const report = verifyAudit(store);
            assert.equal(report.ok, true, JSON.stringify(report));
            const all = listAudit(store, { limit: 10_000 });
            const decisions = all.filter((r) => r.kind === "task.decision");
            const row = (r: (typeof all)[number]) => [
              r.task_id,
              r.decision,
              r.rule,
              r.actor?.node,
              r.actor?.source_ip,
            ];
            assert.deepEqual(
              decisions.map(row),
              [
                [printerTasks[0].id, "deny", "inbound.no_matching_rule", "printer", IPS.printer],
                [
                  idOf(tasks, "inbound.allow[0].cwd"),
                  "deny",
                  "inbound.allow[0].cwd",
                  "laptop",
                  IPS.laptop,
                ],
                [
                  idOf(tasks, "inbound.allow[0].profile"),
                  "deny",
                  "inbound.allow[0].profile",
                  "laptop",
                  IPS.laptop,
                ],
              ],
            );
            assert.ok(!all.some((r) => r.kind === "task.start"), "nothing ran on the worker");
          }
        },
      );
    } finally {
      await w.destroy();
    }
  },
});
