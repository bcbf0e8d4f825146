/**
 * @module
 * Tests of `lazily`: made once at the first call and shared, a failure not kept.
 */
import assert from "node:assert/strict";
import { lazily } from "../../src/util/lazily.ts";

Deno.test("lazily: made once at the first call, shared by concurrent callers", async () => {
  let made = 0;
  const value = lazily(() => Promise.resolve(++made));
  assert.equal(made, 0, "nothing is made before the first call");
  assert.deepEqual(await Promise.all([value(), value()]), [1, 1]);
  assert.equal(await value(), 1);
  assert.equal(made, 1);
});

Deno.test("lazily: a failure is not kept; the next call tries again", async () => {
  let tries = 0;
  const value = lazily(() =>
    ++tries === 1 ? Promise.reject(new Error("no")) : Promise.resolve(tries)
  );
  await assert.rejects(value(), /no/);
  assert.equal(await value(), 2);
  assert.equal(await value(), 2);
});
