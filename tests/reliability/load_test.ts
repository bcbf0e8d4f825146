/**
 * Reliability: load. Three requesters (three tailnet nodes, each in its own network namespace,
 * identified by whois through a LocalAPI double) submit 1,002 tasks between them, ten at a
 * time each, to a worker with `max_concurrent = 4` and a queue bounded at 24. The excess gets
 * 429 `queue_full` with a `Retry-After` and a message that says when to retry; the clients
 * retry the same ids; every tenth admitted task is resubmitted with the identical body and
 * must get 200 with the same task (idempotency).
 *
 * Afterwards: every admitted task succeeded; the worker holds exactly the submitted ids (none
 * lost, none extra); none was admitted or started twice; never more than 4 ran at once.
 * Needs root (network namespaces); skipped with the reason otherwise.
 */
import assert from "node:assert/strict";
import { createMesh, echoRunner } from "../support/mesh_world.ts";
import { systemTestSkipReason } from "../support/netns.ts";
import { runSubmitClient, type SubmitReport } from "../support/submit_client.ts";
import { query, sleep, TERMINAL } from "./_helpers.ts";

const SKIP = systemTestSkipReason();
if (SKIP) console.warn(`tests/reliability/load_test.ts skipped: ${SKIP}`);

const REQUESTERS = ["laptop", "desktop", "ci"];
const PER_REQUESTER = 334;
const MAX_CONCURRENT = 4;
const MAX_QUEUE = 24;

Deno.test({
  name: "reliability: 1,000 tasks from 3 requesters, max_concurrent 4 → 429s, none lost or doubled",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const mesh = await createMesh({
      mode: "netns",
      runners: { zero: echoRunner() },
      inbound: { max_concurrent: MAX_CONCURRENT, max_queue: MAX_QUEUE },
      requesters: REQUESTERS,
      requesterDaemon: false,
    });
    try {
      const reports: SubmitReport[] = await Promise.all(
        REQUESTERS.map((name) =>
          runSubmitClient(mesh.wrap(name), {
            url: mesh.workerUrl,
            count: PER_REQUESTER,
            concurrency: 10,
            idPrefix: `t-load-${name}-`,
            prompt: `work for ${name}`,
            cwd: mesh.plain,
            runner: "zero",
            retryMs: 50,
            deadlineMs: 150_000,
            resubmitEvery: 10,
          })
        ),
      );
      const submitted = REQUESTERS.flatMap((name) =>
        Array.from(
          { length: PER_REQUESTER },
          (_, i) => `t-load-${name}-${String(i).padStart(6, "0")}`,
        )
      );
      const statuses: Record<string, number> = {};
      for (const r of reports) {
        for (const [s, n] of Object.entries(r.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
      }
      console.log(
        `answers: ${JSON.stringify(statuses)}; Retry-After seen: ${reports[0].retryAfter}`,
      );

      for (const r of reports) {
        assert.deepEqual(r.gaveUp, [], "every task was admitted in the end");
        assert.deepEqual(r.malformed, [], "every answer was well-formed");
        assert.ok(r.idempotent.length >= 30, `idempotent resubmits: ${r.idempotent.length}`);
      }
      assert.ok((statuses["429"] ?? 0) > 0, "the bounded queue turned excess away");
      const retry = reports.flatMap((r) => r.retryAfter);
      assert.ok(retry.length > 0 && retry.every((v) => /^\d+$/.test(v)), `Retry-After: ${retry}`);
      const example = reports.find((r) => r.example429)!.example429 as {
        error: { code: string; message: string; rule: string };
      };
      assert.equal(example.error.code, "queue_full");
      assert.match(example.error.message, /retry/i);
      assert.match(example.error.rule, /^limits\./);
      const admitted = reports.flatMap((r) => r.admitted);
      assert.equal(new Set(admitted).size, submitted.length);

      // Everything admitted runs to completion.
      let rows: { id: string; state: string; started_at: string; finished_at: string }[] = [];
      for (let i = 0; i < 300; i++) {
        rows = query(
          mesh.workerDb,
          "SELECT id, state, started_at, finished_at FROM tasks WHERE direction = 'inbound'",
        );
        if (rows.every((t) => TERMINAL.includes(t.state))) break;
        await sleep(200);
      }
      assert.deepEqual(
        rows.map((t) => t.id).sort(),
        [...submitted].sort(),
        "the worker holds exactly the submitted tasks",
      );
      const notOk = rows.filter((t) => t.state !== "succeeded").map((t) => `${t.id} ${t.state}`);
      assert.deepEqual(notOk, [], "every admitted task succeeded");

      const twice = query(
        mesh.workerDb,
        "SELECT task_id, kind, count(*) AS n FROM audit WHERE kind IN ('task.start', 'task.finish') " +
          "OR (kind = 'task.decision' AND decision = 'allow') GROUP BY task_id, kind HAVING n > 1",
      );
      assert.deepEqual(twice, [], "no task admitted, started or finished twice");

      // Never more than max_concurrent at once (start inclusive, finish exclusive).
      const edges = rows.flatMap((t) => [
        [Date.parse(t.started_at), 1],
        [Date.parse(t.finished_at), -1],
      ]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      let running = 0;
      let peak = 0;
      for (const [, d] of edges) peak = Math.max(peak, running += d);
      assert.ok(peak <= MAX_CONCURRENT, `peak concurrency ${peak}`);
      assert.ok(peak >= 2, `the worker did run tasks in parallel (peak ${peak})`);
    } finally {
      await mesh.destroy();
    }
  },
});
