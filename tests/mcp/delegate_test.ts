/**
 * End to end through real processes: the SDK client → `cmesh mcp` → the local daemon →
 * its worker → the demo runner, and back. Covers delegate with and without waiting,
 * progress, status, wait, result, tasks, cancel, and the daemon going away.
 */
import assert from "node:assert/strict";
import { connectMcp, startWorld, textOf } from "./_harness.ts";

// deno-lint-ignore no-explicit-any
type Structured = Record<string, any>;

const processTest = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "cmesh mcp delegates through the daemon and reports claims apart from evidence",
  processTest,
  async (t) => {
    const world = await startWorld();
    const mcp = await connectMcp(world.home);
    try {
      await t.step(
        "delegate with wait: result with claims + evidence, progress observed",
        async () => {
          const { result, progress } = await mcp.callWithProgress("cmesh_delegate", {
            peer: "server",
            runner: "demo",
            task: "count the lines in this repository",
            cwd: world.repo,
            wait_seconds: 60,
          });
          assert.equal(result.isError, undefined, textOf(result));
          const sc = result.structuredContent as Structured;
          assert.equal(sc.done, true);
          assert.equal(sc.state, "succeeded");
          assert.equal(sc.peer, "server");
          assert.match(sc.task_id, /^t[a-z0-9]+$/);
          // Claims and evidence are separate objects.
          assert.match(sc.result.claims.final_text, /Demo agent/);
          assert.equal(sc.result.evidence.exit_code, 0);
          assert.deepEqual(sc.result.evidence.git.changed_files, []);
          assert.equal(typeof sc.result.evidence.duration_ms, "number");
          assert.equal("final_text" in sc.result.evidence, false);
          assert.equal("exit_code" in sc.result.claims, false);
          // The text shows them in two labelled blocks, claims fenced as untrusted.
          const text = textOf(result);
          // How it ended is said once, in the result's first line.
          const [lead, head] = text.split("\n\n");
          assert.match(
            lead,
            /^Delegated to server as task t[a-z0-9]+; waited [\d.]+s for it to end\.$/,
          );
          assert.match(head, /^Task t[a-z0-9]+ on server: succeeded \(profile query, runner /);
          assert.match(text, /Claims \(UNTRUSTED: what the remote agent on server says/);
          assert.match(text, /<<<claims-([0-9a-f]{12})\n\| Demo agent[\s\S]*\nclaims-\1>>>/);
          assert.match(
            text,
            /Evidence \(observed by the worker on server, not claimed by the agent\):/,
          );
          assert.match(text, /exit: 0 · duration /);
          assert.match(text, /changed files: none/);
          assert.match(text, /tokens: \d+ in \/ \d+ out · cost: \$0/);
          assert.ok(
            text.search(/claims-[0-9a-f]{12}>>>/) < text.indexOf("Evidence ("),
            "evidence comes after the fenced claims",
          );
          // Progress: at least one notification, numbered upwards, in the documented shape.
          assert.ok(progress.length >= 1, "no progress notification arrived");
          assert.match(
            progress[0].message ?? "",
            /^(queued|running|succeeded) · \d+(ms|s)( · last: .+)?$/,
          );
          for (let i = 1; i < progress.length; i++) {
            assert.ok(progress[i].progress > progress[i - 1].progress);
          }
        },
      );

      let taskId = "";
      await t.step(
        "delegate without wait returns the id at once; wait and result follow",
        async () => {
          const res = await mcp.client.callTool({
            name: "cmesh_delegate",
            arguments: {
              peer: "server",
              runner: "demo",
              task: "Where is the word world used?",
              cwd: world.repo,
            },
          });
          assert.equal(res.isError, undefined, textOf(res));
          const sc = res.structuredContent as Structured;
          taskId = sc.task_id;
          assert.equal(sc.done, false);
          assert.equal(sc.result, null);
          assert.equal(sc.waited_s, 0);
          assert.match(textOf(res), new RegExp(`Delegated to server as task ${taskId}`));
          assert.match(
            textOf(res),
            /Next: cmesh_wait \{"task_id":"t[a-z0-9]+","wait_seconds":120,"after":0\}/,
          );

          const { result: waited, progress } = await mcp.callWithProgress("cmesh_wait", {
            task_id: taskId,
            wait_seconds: 60,
          });
          assert.equal(waited.isError, undefined, textOf(waited));
          const w = waited.structuredContent as Structured;
          assert.equal(w.done, true);
          assert.equal(w.state, "succeeded");
          assert.ok(w.next_after >= 1);
          assert.ok(w.events.length >= 1);
          assert.match(w.result.claims.final_text, /Demo agent/);
          assert.ok(progress.length >= 1);
          assert.match(textOf(waited), new RegExp(`Task ${taskId} on server has ended: succeeded`));

          // Waiting again from next_after returns no old events.
          const again = await mcp.client.callTool({
            name: "cmesh_wait",
            arguments: { task_id: taskId, wait_seconds: 5, after: w.next_after },
          });
          assert.deepEqual((again.structuredContent as Structured).events, []);

          const result = await mcp.client.callTool({
            name: "cmesh_result",
            arguments: { task_id: taskId },
          });
          assert.equal(result.isError, undefined, textOf(result));
          const r = result.structuredContent as Structured;
          assert.equal(r.done, true);
          assert.equal(r.result.task_id, taskId);
          assert.equal(r.result.runner, "demo");
          assert.equal(r.result.evidence.exit_code, 0);
          assert.match(textOf(result), /Claims \(UNTRUSTED/);
        },
      );

      await t.step("cmesh_status reports one task", async () => {
        const res = await mcp.client.callTool({
          name: "cmesh_status",
          arguments: { task_id: taskId },
        });
        assert.equal(res.isError, undefined, textOf(res));
        const sc = res.structuredContent as Structured;
        assert.equal(sc.task_id, taskId);
        assert.equal(sc.peer, "server");
        assert.equal(sc.state, "succeeded");
        assert.equal(sc.task.cwd, world.repo);
        assert.match(textOf(res), new RegExp(`Task ${taskId} on server: succeeded`));
        assert.match(textOf(res), /cmesh_result \{"task_id":/);
      });

      await t.step("cmesh_tasks lists them, newest first, and filters", async () => {
        const res = await mcp.client.callTool({ name: "cmesh_tasks", arguments: {} });
        const sc = res.structuredContent as Structured;
        assert.equal(sc.count, 2);
        assert.equal(sc.tasks[0].id, taskId);
        assert.match(textOf(res), /^2 task\(s\), newest first:/);
        const none = await mcp.client.callTool({
          name: "cmesh_tasks",
          arguments: { state: "running", peer: "server" },
        });
        assert.equal((none.structuredContent as Structured).count, 0);
        assert.match(textOf(none), /No delegated tasks matching state running, peer server\./);
        const one = await mcp.client.callTool({ name: "cmesh_tasks", arguments: { limit: 1 } });
        assert.equal((one.structuredContent as Structured).tasks.length, 1);
      });

      await t.step("cancel of a long task ends it as cancelled", async () => {
        const res = await mcp.client.callTool({
          name: "cmesh_delegate",
          arguments: {
            peer: "server",
            runner: "demo",
            task: "take your time [demo:sleep=120]",
            cwd: world.repo,
          },
        });
        const id = (res.structuredContent as Structured).task_id;
        // A bounded wait that runs out: status so far, not done.
        const waited = await mcp.client.callTool({
          name: "cmesh_wait",
          arguments: { task_id: id, wait_seconds: 1 },
        });
        const w = waited.structuredContent as Structured;
        assert.equal(w.done, false);
        assert.equal(w.result, null);
        assert.match(textOf(waited), /is still (queued|running) after waiting/);
        assert.match(textOf(waited), /Next: cmesh_wait \{"task_id":/);
        const pending = await mcp.client.callTool({
          name: "cmesh_result",
          arguments: { task_id: id },
        });
        assert.equal(pending.isError, undefined);
        assert.equal((pending.structuredContent as Structured).result, null);
        assert.match(textOf(pending), /^No result yet\./);

        const cancelled = await mcp.client.callTool({
          name: "cmesh_cancel",
          arguments: { task_id: id },
        });
        assert.equal(cancelled.isError, undefined, textOf(cancelled));
        const c = cancelled.structuredContent as Structured;
        assert.equal(c.state, "cancelled");
        assert.equal(c.done, true);
        assert.equal(c.already_finished, false);
        assert.match(textOf(cancelled), new RegExp(`Task ${id} on server is now cancelled`));

        const again = await mcp.client.callTool({
          name: "cmesh_cancel",
          arguments: { task_id: id },
        });
        assert.equal((again.structuredContent as Structured).already_finished, true);
        assert.match(textOf(again), /Nothing to cancel: task .* had already ended \(cancelled\)/);
      });

      await t.step("daemon stopped: tools say how to start it", async () => {
        await world.daemon.stop();
        const res = await mcp.client.callTool({
          name: "cmesh_status",
          arguments: { task_id: taskId },
        });
        assert.equal(res.isError, true);
        const text = textOf(res);
        assert.match(
          text,
          /the cmesh daemon is not running \(nothing answers on 127\.0\.0\.1:\d+\)/,
        );
        assert.match(text, /Start it with 'cmesh daemon'/);
        assert.match(text, /\[error daemon_not_running\]$/);
      });
    } finally {
      await mcp.close();
      await world.stop();
    }
  },
);
