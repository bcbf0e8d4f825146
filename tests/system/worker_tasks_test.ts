/**
 * System tests of tasks on a real worker in network namespaces (see `worker_world.ts`): an
 * allowed peer runs a task with the fake runner and gets claims and evidence back; another peer
 * cannot see it; `kill -9` of the daemon mid-task, then a restart, leaves the task
 * `interrupted`, no process of the run alive, and an audit chain that verifies.
 *
 * Needs root and iproute2 (network namespaces); skipped with the reason printed otherwise. CI
 * runs it as root through `.ci/run`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listAudit } from "../../src/store/audit.ts";
import { verifyAudit } from "../../src/store/audit_verify.ts";
import { openStore } from "../../src/store/db.ts";
import type { TaskResult, TaskStatus } from "../../src/protocol/task.ts";
import {
  envValueOf,
  pidsWithEnv,
  processGone,
  psRows,
  systemTestSkipReason,
  waitFor,
} from "../support/netns.ts";
import {
  type Client,
  CLIENT_IPS,
  createWorkerWorld,
  errorOf,
  show,
  taskId,
  type WorkerWorld,
} from "./worker_world.ts";

const SKIP = systemTestSkipReason();
if (SKIP) console.warn(`tests/system/worker_tasks_test.ts skipped: ${SKIP}`);

const CLAIM = "CLAIM: wrote notes.txt and all tests pass";

async function statusOf(w: WorkerWorld, from: Client, id: string): Promise<TaskStatus> {
  const r = await w.request(from, "GET", `/v1/tasks/${id}`);
  assert.equal(r.status, 200, show(r));
  return (r.json as { task: TaskStatus }).task;
}

async function readPid(path: string): Promise<number | undefined> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
}

Deno.test({
  name: "system: tasks on a worker in network namespaces (run, isolation, kill -9 recovery)",
  ignore: SKIP !== null,
  // Child processes and their pipes outlive single steps by design; the world cleans up.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    // Unsandboxed: step 7 checks the run-marker recovery that runs without a sandbox rely on
    // (its pid files lie outside the cwd, and a sandboxed run dies with the daemon at once);
    // the sandboxed runs' containment is tests/sandbox/escapes_test.ts.
    const w = await createWorkerWorld({ sandbox: "off" });
    try {
      await w.startDaemon();
      const doneId = taskId("notes");
      const crashId = taskId("crash");

      await t.step("4a. /v1/hello tells an allowed peer what it may do", async () => {
        const laptop = await w.request("laptop", "GET", "/v1/hello");
        assert.equal(laptop.status, 200, show(laptop));
        const body = laptop.json as {
          node: string;
          you: unknown;
          allowed: { inboundEnabled: boolean; rules: unknown[] };
        };
        assert.equal(body.node, "worker");
        assert.deepEqual(body.you, { node: "laptop", login: "alice@example.com", tags: [] });
        assert.equal(body.allowed.inboundEnabled, true);
        assert.deepEqual(body.allowed.rules, [{
          ruleIndex: 0,
          by: "peer laptop",
          profiles: ["query", "edit"],
          cwd: [w.root],
          runners: ["fake"],
        }]);
        const desktop = await w.request("desktop", "GET", "/v1/hello");
        assert.equal(desktop.status, 200, show(desktop));
        const rules = (desktop.json as { allowed: { rules: { ruleIndex: number; by: string }[] } })
          .allowed.rules;
        assert.deepEqual(rules.map((r) => [r.ruleIndex, r.by]), [[1, "login bob@example.com"]]);
      });

      await t.step("4b. an allowed peer's task runs; claims and evidence come back", async () => {
        const request = {
          id: doneId,
          prompt: JSON.stringify([
            { claude: "init" },
            { claude: "assistant", text: "writing notes" },
            { write_file: { path: "notes.txt", content: "from the fake agent\n" } },
            { claude: "result", text: CLAIM },
          ]),
          cwd: w.repo,
          profile: "edit",
          runner: "fake",
          timeout_s: 60,
        };
        const post = await w.request("laptop", "POST", "/v1/tasks", { json: request });
        assert.equal(post.status, 202, show(post));
        assert.equal((post.json as { task: TaskStatus }).task.id, doneId);
        const again = await w.request("laptop", "POST", "/v1/tasks", { json: request });
        assert.equal(again.status, 200, `a retry is idempotent: ${show(again)}`);

        const final = await waitFor("the task to finish", async () => {
          const s = await statusOf(w, "laptop", doneId);
          return ["queued", "running"].includes(s.state) ? undefined : s;
        }, 30_000);
        assert.equal(final.state, "succeeded", JSON.stringify(final));
        assert.equal(
          await Deno.readTextFile(join(w.repo, "notes.txt")),
          "from the fake agent\n",
        );

        const res = await w.request("laptop", "GET", `/v1/tasks/${doneId}/result`);
        assert.equal(res.status, 200, show(res));
        const result = (res.json as { result: TaskResult }).result;
        assert.equal(result.state, "succeeded");
        assert.equal(result.cwd, w.repo);
        assert.equal(result.claims.final_text, CLAIM);
        const ev = result.evidence;
        assert.ok(ev, "evidence is recorded");
        assert.equal(ev.exit_code, 0);
        assert.ok(ev.git, "git evidence for a git work tree");
        assert.ok(ev.git.before?.head, "HEAD before");
        assert.equal(ev.git.after?.head, ev.git.before?.head);
        assert.deepEqual(ev.git.changed_files, ["notes.txt"]);
        assert.ok(!JSON.stringify(ev).includes(CLAIM), "the claim is not mixed into the evidence");

        const events = await w.request("laptop", "GET", `/v1/tasks/${doneId}/events`);
        assert.equal(events.status, 200, show(events));
        assert.match(events.text, /writing notes/);
        assert.match(events.text, /event: end\ndata: \{"state":"succeeded"\}/);
      });

      await t.step("8. a caller sees only its own tasks", async () => {
        for (
          const [method, path] of [
            ["GET", `/v1/tasks/${doneId}`],
            ["GET", `/v1/tasks/${doneId}/result`],
            ["GET", `/v1/tasks/${doneId}/events`],
            ["POST", `/v1/tasks/${doneId}/cancel`],
          ]
        ) {
          const r = await w.request("desktop", method, path);
          assert.equal(r.status, 404, `${method} ${path}: ${show(r)}`);
          assert.equal(errorOf(r).code, "not_found");
          assert.ok(!r.text.includes(CLAIM));
        }
        // Reusing laptop's id (even with an identical request) neither reveals nor touches it.
        const reuse = await w.request("desktop", "POST", "/v1/tasks", {
          json: {
            id: doneId,
            prompt: '[{"claude":"result","text":"x"}]',
            cwd: w.repo,
            profile: "query",
            runner: "fake",
          },
        });
        assert.equal(reuse.status, 409, show(reuse));
        assert.equal((reuse.json as { task?: unknown }).task, undefined);
        assert.equal((await statusOf(w, "laptop", doneId)).state, "succeeded");
      });

      await t.step("7. kill -9 mid-task, restart: interrupted, no orphans", async () => {
        const agentPidFile = join(w.pidDir, "agent.pid");
        const orphanPidFile = join(w.pidDir, "orphan.pid");
        const post = await w.request("laptop", "POST", "/v1/tasks", {
          json: {
            id: crashId,
            prompt: JSON.stringify([
              { claude: "init" },
              { pid_file: agentPidFile },
              { spawn_setsid: { seconds: 300, pid_file: orphanPidFile } },
              { claude: "assistant", text: "working" },
              { hang: true },
            ]),
            cwd: w.repo,
            profile: "query",
            runner: "fake",
            timeout_s: 120,
          },
        });
        assert.equal(post.status, 202, show(post));
        const [agent, orphan] = await waitFor("the run and its setsid child", async () => {
          const a = await readPid(agentPidFile);
          const o = await readPid(orphanPidFile);
          const s = await statusOf(w, "laptop", crashId);
          return a && o && s.state === "running" ? [a, o] : undefined;
        }, 30_000);
        // Preconditions that make the test meaningful: the child left the run's session, and
        // both carry the run's marker.
        const [[agentRow], [orphanRow]] = [await psRows(agent), await psRows(orphan)];
        assert.ok(agentRow && orphanRow, "both processes run");
        assert.notEqual(orphanRow.sid, agentRow.sid, "the grandchild is setsid'd");
        const token = await envValueOf(agent, "CMESH_RUN_ID");
        assert.ok(token, "the runner carries CMESH_RUN_ID");
        assert.equal(await envValueOf(orphan, "CMESH_RUN_ID"), token);

        const crashed = w.daemon!;
        await w.stopDaemon(true);
        assert.equal(await processGone(crashed.child.pid), true, "the daemon is dead");
        assert.equal(await processGone(orphan), false, "the setsid'd child outlived the daemon");

        const restarted = await w.startDaemon();
        await waitFor(
          "the restarted daemon to log the recovery",
          () => /marked 1 task\(s\) interrupted/.test(restarted.stderr()) ? true : undefined,
          5000,
        );
        await waitFor(
          "the run's processes to be gone",
          async () => (await processGone(agent)) && (await processGone(orphan)) ? true : undefined,
          5000,
        );
        assert.deepEqual(
          await pidsWithEnv("CMESH_RUN_ID", token),
          [],
          "no process of the run is left",
        );
        const others = [];
        for (const p of await w.topo.pids(w.workerNs)) {
          if (p !== restarted.child.pid && p !== w.double.pid && !(await processGone(p))) {
            others.push(p);
          }
        }
        assert.deepEqual(others, [], "only the daemon and the double run in the worker namespace");

        const status = await statusOf(w, "laptop", crashId);
        assert.equal(status.state, "interrupted");
        assert.equal(status.error?.code, "interrupted");
        const res = await w.request("laptop", "GET", `/v1/tasks/${crashId}/result`);
        assert.equal(res.status, 200, show(res));
        assert.equal((res.json as { result: TaskResult }).result.state, "interrupted");
        // The finished task from before the crash is untouched.
        assert.equal((await statusOf(w, "laptop", doneId)).state, "succeeded");
      });

      await t.step("audit: identity, run and recovery recorded; the chain verifies", async () => {
        await w.stopDaemon();
        using store = openStore(w.dbPath);
        const report = verifyAudit(store);
        assert.equal(report.ok, true, JSON.stringify(report.first_bad));
        const done = listAudit(store, { taskId: doneId, limit: 1000 });
        const kinds = done.map((r) => r.kind);
        for (const k of ["task.decision", "task.start", "task.finish"]) {
          assert.ok(kinds.includes(k), `${k} in ${kinds}`);
        }
        const decision = done.find((r) => r.kind === "task.decision")!;
        assert.equal(decision.decision, "allow");
        assert.equal(decision.rule, "inbound.allow[0]");
        assert.equal(decision.actor?.node, "laptop");
        assert.equal(decision.actor?.login, "alice@example.com");
        assert.equal(decision.actor?.source_ip, CLIENT_IPS.laptop);
        assert.ok(decision.actor?.stable_id, "the whois stable id");
        const crash = listAudit(store, { taskId: crashId, limit: 1000 }).map((r) => r.kind);
        assert.ok(crash.includes("task.interrupted"), `crash task audit: ${crash}`);
        const all = listAudit(store, { limit: 10_000 }).map((r) => r.kind);
        assert.equal(all.filter((k) => k === "daemon.start").length, 2);
      });
    } finally {
      await w.destroy();
    }
  },
});
