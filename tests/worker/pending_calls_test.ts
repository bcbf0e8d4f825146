/**
 * @module
 * Tests of the ports' call bookkeeping: an answer by id, the fallback on time-out and on a send
 * that throws, the busy answer past the bound, late and unknown answers ignored.
 */
import assert from "node:assert/strict";
import { PendingCalls } from "../../src/worker/pending_calls.ts";

Deno.test("PendingCalls: answers by id; late, unknown and repeated answers change nothing", async () => {
  const calls = new PendingCalls<string>({ timeoutMs: 1000, maxPending: 4 });
  const ids: number[] = [];
  const a = calls.call((id) => ids.push(id), "fallback");
  const b = calls.call((id) => ids.push(id), "fallback");
  assert.equal(calls.size, 2);
  calls.deliver(ids[1], "b");
  calls.deliver(ids[0], "a");
  calls.deliver(ids[0], "again");
  calls.deliver(999, "nobody");
  assert.deepEqual([await a, await b], ["a", "b"]);
  assert.equal(calls.size, 0);
});

Deno.test("PendingCalls: the fallback on time-out or a failing send, busy past the bound", async () => {
  const calls = new PendingCalls<string>({ timeoutMs: 10, maxPending: 1 });
  let id = 0;
  const waiting = calls.call((i) => (id = i), "timed out");
  assert.equal(await calls.call(() => {}, "fallback", "busy"), "busy");
  assert.equal(await waiting, "timed out");
  calls.deliver(id, "too late");
  assert.equal(calls.size, 0);
  const failing = calls.call(() => {
    throw new Error("closed");
  }, "send failed");
  assert.equal(await failing, "send failed");
  assert.equal(calls.size, 0);
});
