/**
 * @module
 * Tests of `answerThroughFront`: a front that cannot be built answers 500 in the API's error
 * shape with why, and the next request builds it and is answered by it.
 */
import assert from "node:assert/strict";
import { answerThroughFront } from "../../src/util/lazy_front.ts";
import type { Front } from "../../src/worker/front.ts";
import { lazily } from "../../src/util/lazily.ts";

Deno.test("answerThroughFront: a front that fails to load is a 500 with why; the next loads", async () => {
  let loads = 0;
  const front = lazily((): Promise<Front> => {
    loads++;
    if (loads === 1) return Promise.reject(new Error("module not found"));
    return Promise.resolve({
      fetch: (_req, remote) => Response.json({ from: remote.hostname }),
      stop: () => {},
    });
  });
  const remote: Deno.NetAddr = { transport: "tcp", hostname: "100.64.0.2", port: 40000 };
  const req = () => new Request("http://100.64.0.1:7433/v1/hello");
  const failed = await answerThroughFront(front, req(), remote, "worker");
  assert.equal(failed.status, 500);
  const body = await failed.json();
  assert.equal(body.error.code, "internal");
  assert.match(
    body.error.message,
    /^the worker cannot load its request handling \(module not found\)/,
  );
  const ok = await answerThroughFront(front, req(), remote, "worker");
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { from: "100.64.0.2" });
  assert.equal(loads, 2);
});
