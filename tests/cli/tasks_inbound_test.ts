import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../src/store/db.ts";
import { insertTask } from "../../src/store/tasks.ts";
import { runCmesh, tempDir } from "../support/daemon.ts";

Deno.test("tasks list --inbound reads this worker's store without the daemon", async () => {
  const dir = await tempDir();
  try {
    const store = openStore(join(dir.path, "state", "cmesh.db"));
    for (const [id, peer] of [["t_inbound_1", "laptop"], ["t_inbound_2", "desktop"]]) {
      insertTask(store, {
        direction: "inbound",
        id,
        peer,
        requester_stable_id: `n-${peer}`,
        profile: "query",
        runner: "demo",
        cwd: "/srv/app",
        prompt: "p",
        request_hash: id,
      });
    }
    store.close();
    const env = { CMESH_HOME: dir.path };
    const all = await runCmesh(["tasks", "list", "--inbound", "--json"], env);
    assert.equal(all.code, 0, all.stderr);
    const tasks = JSON.parse(all.stdout).tasks as { id: string; peer: string; state: string }[];
    assert.deepEqual(tasks.map((t) => t.id).sort(), ["t_inbound_1", "t_inbound_2"]);
    assert.ok(tasks.every((t) => t.state === "queued"));
    const mine = await runCmesh(["tasks", "list", "--inbound", "--peer", "desktop", "--json"], env);
    assert.deepEqual(JSON.parse(mine.stdout).tasks.map((t: { id: string }) => t.id), [
      "t_inbound_2",
    ]);
    const bad = await runCmesh(["tasks", "list", "--inbound", "--state", "bogus"], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--state must be one of/);
  } finally {
    await dir.cleanup();
  }
});
