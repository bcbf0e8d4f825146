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
