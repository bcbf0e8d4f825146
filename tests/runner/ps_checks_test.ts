/** The test-side process checks must be able to say "alive" too, or the kill tests prove nothing. */
import assert from "node:assert/strict";
import { RUN_TOKEN_ENV } from "../../src/runner/process_list.ts";
import { isAlive, livePids, liveWithMarker } from "./_ps.ts";

Deno.test("isAlive and liveWithMarker see a live marked process, then not after it is killed", async () => {
  const token = `rpscheck${crypto.randomUUID().replaceAll("-", "")}`;
  const child = new Deno.Command("sleep", {
    args: ["30"],
    env: { [RUN_TOKEN_ENV]: token },
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    assert.equal(isAlive(child.pid), true);
    assert.ok(livePids().has(child.pid));
    assert.equal(liveWithMarker(token).length, 1);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
  assert.equal(isAlive(child.pid), false);
  assert.deepEqual(liveWithMarker(token), []);
});
