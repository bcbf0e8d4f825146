import assert from "node:assert/strict";
import { DEFAULT_RETRY_AFTER_S, suggestRetryAfterS } from "../../src/policy/limits.ts";

Deno.test("suggestRetryAfterS: the queue's drain time at the recent run time, clamped", () => {
  assert.equal(
    suggestRetryAfterS({ recentRunS: null, queued: 10, maxConcurrent: 2 }),
    DEFAULT_RETRY_AFTER_S,
  );
  assert.equal(suggestRetryAfterS({ recentRunS: 2, queued: 7, maxConcurrent: 4 }), 4);
  assert.equal(suggestRetryAfterS({ recentRunS: 0.01, queued: 0, maxConcurrent: 4 }), 1);
  assert.equal(suggestRetryAfterS({ recentRunS: 600, queued: 10, maxConcurrent: 1 }), 300);
  assert.equal(suggestRetryAfterS({ recentRunS: 3, queued: 3, maxConcurrent: 0 }), 12);
});

Deno.test("admissionLimits calls a Retry-After function only when it denies", async () => {
  const { admissionLimits } = await import("../../src/policy/limits.ts");
  let calls = 0;
  const retryAfterS = () => {
    calls++;
    return 7;
  };
  const limits = { global: { maxConcurrent: 1, maxQueue: 1 }, peer: {} };
  const ok = admissionLimits({
    global: { running: 0, queued: 0 },
    peer: { running: 0, queued: 0 },
    limits,
    retryAfterS,
  });
  assert.equal(ok.allow, true);
  assert.equal(calls, 0);
  // A task that queues behind others is admitted without the advice too.
  const queues = admissionLimits({
    global: { running: 1, queued: 5 },
    peer: { running: 1, queued: 5 },
    limits: { global: { maxConcurrent: 1, maxQueue: 10_000 }, peer: {} },
    retryAfterS,
  });
  assert.equal(queues.allow && !queues.startsNow, true);
  assert.equal(calls, 0);
  const full = admissionLimits({
    global: { running: 1, queued: 1 },
    peer: { running: 0, queued: 0 },
    limits,
    retryAfterS,
  });
  assert.equal(full.allow, false);
  assert.equal(calls, 1);
  assert.equal(!full.allow && full.retryAfterS, 7);
});
