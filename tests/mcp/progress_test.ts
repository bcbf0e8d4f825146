/** Progress notifications: spaced for the SDK race, numbered upwards, only with a token. */
import assert from "node:assert/strict";
import { MIN_GAP_MS, ProgressReporter, SETTLE_MS } from "../../src/mcp/progress.ts";

Deno.test("notifications are at least 20 ms apart and numbered upwards", async () => {
  assert.ok(MIN_GAP_MS >= 20);
  const sent: { at: number; progress: number; message?: string; token: unknown }[] = [];
  // The real sleep, recorded: how long the reporter chose to wait is checked as a value.
  const slept: number[] = [];
  const sleep = (ms: number) => {
    slept.push(ms);
    return new Promise<void>((r) => setTimeout(r, ms));
  };
  const p = new ProgressReporter({
    progressToken: "tok",
    send: (n) => {
      const params = n.params as { progress: number; message?: string; progressToken: unknown };
      sent.push({
        at: performance.now(),
        progress: params.progress,
        message: params.message,
        token: params.progressToken,
      });
      return Promise.resolve();
    },
  }, sleep);
  assert.equal(p.enabled, true);
  for (let i = 0; i < 4; i++) await p.report(`step ${i}`);
  assert.equal(p.sent, 4);
  assert.deepEqual(sent.map((s) => s.progress), [1, 2, 3, 4]);
  assert.deepEqual(sent.map((s) => s.message), ["step 0", "step 1", "step 2", "step 3"]);
  assert.ok(sent.every((s) => s.token === "tok"));
  for (let i = 1; i < sent.length; i++) {
    // Timers may fire a hair early; 1 ms of slack still proves the spacing.
    assert.ok(
      sent[i].at - sent[i - 1].at >= MIN_GAP_MS - 1,
      `gap ${i}: ${sent[i].at - sent[i - 1].at}`,
    );
  }
  // Each wait between reports was at most one gap (only the remainder is waited).
  assert.ok(slept.every((ms) => ms > 0 && ms <= MIN_GAP_MS), `waits ${slept}`);
  const waitsBefore = slept.length;
  await p.settle();
  assert.ok(performance.now() - sent[3].at >= SETTLE_MS - 1);
  // settle waited once, for what was left of SETTLE_MS after the last notification.
  assert.equal(slept.length, waitsBefore + 1);
  assert.ok(slept.at(-1)! > 0 && slept.at(-1)! <= SETTLE_MS, `settle waited ${slept.at(-1)}`);
});

Deno.test("without a progress token nothing is sent and settle returns at once", async () => {
  let calls = 0;
  const slept: number[] = [];
  const p = new ProgressReporter(
    { send: () => Promise.resolve(void calls++) },
    (ms) => Promise.resolve(void slept.push(ms)),
  );
  assert.equal(p.enabled, false);
  await p.report("x");
  await p.settle();
  assert.equal(calls, 0);
  assert.equal(p.sent, 0);
  assert.deepEqual(slept, [], "nothing waited");
});

Deno.test("a failing send (client gone) does not throw", async () => {
  const p = new ProgressReporter({
    progressToken: 7,
    send: () => Promise.reject(new Error("closed")),
  });
  const original = console.error;
  const logged: string[] = [];
  console.error = (m: string) => void logged.push(m);
  try {
    await p.report("x");
  } finally {
    console.error = original;
  }
  assert.equal(p.sent, 1);
  assert.match(logged[0], /progress notification failed: closed/);
});
