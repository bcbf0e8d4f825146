import assert from "node:assert/strict";
import {
  admissionLimits,
  canStart,
  DEFAULT_RETRY_AFTER_S,
  type EffectiveLimits,
  limitsFor,
} from "../../src/policy/limits.ts";

const L = (
  g: [number, number],
  p: { maxConcurrent?: number; maxQueue?: number } = {},
): EffectiveLimits => ({ global: { maxConcurrent: g[0], maxQueue: g[1] }, peer: p });

Deno.test("admissionLimits: table", async (t) => {
  const cases: {
    name: string;
    global: [running: number, queued: number];
    peer: [running: number, queued: number];
    limits: EffectiveLimits;
    rule: string;
    startsNow?: boolean;
    reason?: RegExp;
  }[] = [
    {
      name: "idle node starts at once",
      global: [0, 0],
      peer: [0, 0],
      limits: L([2, 32]),
      rule: "limits.admit",
      startsNow: true,
    },
    {
      name: "max_queue 0 still starts when a slot is free",
      global: [1, 0],
      peer: [0, 0],
      limits: L([2, 0]),
      rule: "limits.admit",
      startsNow: true,
    },
    {
      name: "max_queue 0 rejects when busy",
      global: [2, 0],
      peer: [0, 0],
      limits: L([2, 0]),
      rule: "limits.global_queue",
      reason: /2 tasks running and 0 queued, the most inbound\.max_queue = 0 allows/,
    },
    {
      name: "busy: queued",
      global: [2, 5],
      peer: [0, 0],
      limits: L([2, 32]),
      rule: "limits.admit",
      startsNow: false,
      reason: /queued behind 5/,
    },
    {
      name: "slot free but others queued ahead: queued",
      global: [1, 1],
      peer: [0, 0],
      limits: L([2, 32]),
      rule: "limits.admit",
      startsNow: false,
    },
    {
      name: "global queue full",
      global: [2, 32],
      peer: [0, 0],
      limits: L([2, 32]),
      rule: "limits.global_queue",
    },
    {
      name: "global queue over full",
      global: [2, 40],
      peer: [0, 0],
      limits: L([2, 32]),
      rule: "limits.global_queue",
    },
    {
      name: "peer at its concurrency: queued",
      global: [1, 0],
      peer: [1, 0],
      limits: L([4, 32], { maxConcurrent: 1 }),
      rule: "limits.admit",
      startsNow: false,
    },
    {
      name: "peer queue full",
      global: [1, 0],
      peer: [1, 2],
      limits: L([4, 32], { maxConcurrent: 1, maxQueue: 2 }),
      rule: "limits.peer_queue",
      reason: /1 tasks running and 2 queued .* max_queue = 2/,
    },
    {
      name: "peer max_queue 0 still starts when free",
      global: [0, 0],
      peer: [0, 0],
      limits: L([4, 32], { maxConcurrent: 1, maxQueue: 0 }),
      rule: "limits.admit",
      startsNow: true,
    },
    {
      name: "peer max_queue 0 rejects when peer busy",
      global: [1, 0],
      peer: [1, 0],
      limits: L([4, 32], { maxConcurrent: 1, maxQueue: 0 }),
      rule: "limits.peer_queue",
    },
    {
      name: "global full is reported before peer full",
      global: [2, 32],
      peer: [1, 5],
      limits: L([2, 32], { maxQueue: 5 }),
      rule: "limits.global_queue",
    },
    {
      name: "no peer limits: only global applies",
      global: [3, 10],
      peer: [3, 10],
      limits: L([4, 32]),
      rule: "limits.admit",
      startsNow: false,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const d = admissionLimits({
        global: { running: c.global[0], queued: c.global[1] },
        peer: { running: c.peer[0], queued: c.peer[1] },
        limits: c.limits,
      });
      assert.equal(d.rule, c.rule, d.reason);
      assert.equal(d.allow, c.rule === "limits.admit");
      if (d.allow) assert.equal(d.startsNow, c.startsNow);
      else {
        assert.equal(d.retryAfterS, DEFAULT_RETRY_AFTER_S);
        assert.match(d.hint ?? "", /retry in about 30s/);
      }
      if (c.reason) assert.match(d.reason, c.reason);
    });
  }
});

Deno.test("admissionLimits: retryAfterS override", () => {
  const d = admissionLimits({
    global: { running: 1, queued: 1 },
    peer: { running: 0, queued: 0 },
    limits: L([1, 1]),
    retryAfterS: 7,
  });
  assert.equal(d.allow, false);
  if (!d.allow) assert.equal(d.retryAfterS, 7);
});

Deno.test("canStart: table", () => {
  const cases: [global: number, peer: number, limits: EffectiveLimits, rule: string][] = [
    [0, 0, L([2, 0]), "limits.start"],
    [1, 0, L([2, 0]), "limits.start"],
    [2, 0, L([2, 0]), "limits.global_concurrency"],
    [3, 0, L([2, 0]), "limits.global_concurrency"],
    [1, 1, L([4, 0], { maxConcurrent: 1 }), "limits.peer_concurrency"],
    [1, 1, L([4, 0], { maxConcurrent: 2 }), "limits.start"],
    [4, 1, L([4, 0], { maxConcurrent: 2 }), "limits.global_concurrency"],
    [3, 3, L([4, 0]), "limits.start"],
  ];
  for (const [g, p, limits, rule] of cases) {
    const d = canStart({ global: { running: g }, peer: { running: p }, limits });
    assert.equal(d.rule, rule, `${g}/${p}: ${d.reason}`);
    assert.equal(d.allow, rule === "limits.start");
  }
});

Deno.test("limitsFor: combines [inbound] and the rule's limits", () => {
  assert.deepEqual(limitsFor({ max_concurrent: 2, max_queue: 32 }, { maxQueue: 4 }), {
    global: { maxConcurrent: 2, maxQueue: 32 },
    peer: { maxQueue: 4 },
  });
});
