/**
 * @module
 * A restarted requester daemon follows its unfinished outbound tasks again at start, before and
 * without any control request: the requester side it builds lazily (`daemon/control_side.ts`)
 * is built at start when the store holds such a task.
 */
import assert from "node:assert/strict";
import { createMesh, shRunner } from "../support/mesh_world.ts";
import { controlClient, query, sleep } from "../reliability/_helpers.ts";

Deno.test({
  name: "a restarted requester resumes following its outbound task without a control request",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const mesh = await createMesh({ mode: "loopback", runners: { sh: shRunner("sh", 300) } });
    try {
      const control = controlClient(mesh);
      const accepted = await control.delegate("t-resume-1", "sleep 2; echo resumed");
      assert.equal(accepted.status, 202, JSON.stringify(accepted.json));
      await mesh.stopRequester();
      const stateOf = () =>
        query<{ state: string }>(
          mesh.requesterDb,
          "SELECT state FROM tasks WHERE id = ?",
          "t-resume-1",
        )[0]
          ?.state;
      assert.ok(["queued", "running"].includes(stateOf()!), `stopped while ${stateOf()}`);
      await mesh.startRequester();
      // Only the store is read from here on: the control API is not asked anything.
      let state = stateOf();
      for (let i = 0; i < 300 && state !== "succeeded"; i++) {
        await sleep(100);
        state = stateOf();
      }
      // Without the resume at start nobody would follow it: it would stay queued or running.
      assert.equal(state, "succeeded");
    } finally {
      await mesh.destroy();
    }
  },
});
