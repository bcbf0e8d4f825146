import assert from "node:assert/strict";
import { Requester } from "../../src/delegation/requester.ts";
import { allow } from "../../src/policy/decision.ts";
import { openStore } from "../../src/store/db.ts";
import { getTask } from "../../src/store/tasks.ts";

async function delegated(defaultTimeoutS: number | undefined, timeout_s?: number) {
  const store = openStore(":memory:");
  const d = new Requester({
    store,
    self: "laptop",
    defaultTimeoutS,
    decide: () => allow("outbound.peers[0]", "ok"),
    resolvePeer: () => Promise.resolve({ ok: false, message: "offline" }),
  });
  await d.delegate({
    peer: "b",
    prompt: "p",
    cwd: "/srv",
    profile: "query",
    id: "t_timeout01",
    timeout_s,
  });
  const t = getTask(store, "outbound", "t_timeout01")!;
  store.close();
  return t.timeout_s;
}

Deno.test("outbound.default_timeout_s applies only when the task names no timeout", async () => {
  assert.equal(await delegated(900), 900);
  assert.equal(await delegated(900, 60), 60);
  assert.equal(await delegated(undefined), null);
});
