/** The bench reports the worst of its memory runs, figure by figure. */
import assert from "node:assert/strict";
import { type MemoryResult, worstMemory } from "../../bench/lib/load.ts";

const mem = (rss: number, hwm: number) => ({ rss, hwm, anon: rss / 2, file: rss / 2 });

function run(worker: [number, number], requester: [number, number], cpu: number): MemoryResult {
  return {
    mode: "netns",
    idle: { worker: mem(worker[0] + 2, 0), requester: mem(requester[0] + 2, 0) },
    idle_settled: { worker: mem(...worker), requester: mem(...requester), after_s: 30 },
    in_flight: {
      tasks: 1000,
      stream_mib: 200,
      stream_state: "succeeded",
      stream_seconds: 2,
      worker: mem(worker[0] + 10, worker[1]),
      requester: mem(requester[0] + 10, requester[1]),
      cpu_pct: { worker: cpu, requester: 1 - cpu },
      cpu_pct_steady: { worker: cpu / 2, requester: 0.1 },
      idle_seconds: 10,
    },
    failures: [`run ${cpu}`],
  };
}

Deno.test("worstMemory: the largest idle RSS, the highest peak and the most CPU of the runs", () => {
  const w = worstMemory([run([95, 115], [73, 114], 0.3), run([97, 124], [72, 109], 0.6)]);
  assert.equal(w.runs, 2);
  assert.equal(w.idle_settled!.worker.rss, 97);
  assert.equal(w.idle_settled!.requester.rss, 73);
  assert.equal(w.in_flight.worker.hwm, 124);
  assert.equal(w.in_flight.requester.hwm, 114);
  assert.deepEqual(w.in_flight.cpu_pct, { worker: 0.6, requester: 0.7 });
  assert.deepEqual(w.in_flight.cpu_pct_steady, { worker: 0.3, requester: 0.1 });
  assert.deepEqual(w.failures, ["run 0.3", "run 0.6"]);
});
