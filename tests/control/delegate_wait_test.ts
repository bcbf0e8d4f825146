/** `POST /v1/delegate?wait_s=…`: delegating and waiting in one control call, on a live daemon. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ControlClient } from "../../src/control/client.ts";
import { followTask } from "../../src/control/calls.ts";
import { startWorld } from "../mcp/_harness.ts";

Deno.test("control API: delegate with wait_s answers with the finished task, its events and result", async () => {
  const world = await startWorld();
  try {
    const state = join(world.home, "state");
    const client = new ControlClient({
      port: world.controlPort,
      token: (await Deno.readTextFile(join(state, "control.token"))).trim(),
      tokenFile: join(state, "control.token"),
      configFile: join(world.home, "config.toml"),
    });
    const body = { peer: "server", prompt: "say hi", cwd: world.repo, runner: "demo" };
    const waited = await client.delegate(body, undefined, { timeoutS: 30, untilTerminal: true });
    assert.ok(waited.ok, JSON.stringify(waited));
    const { task, events, result } = waited.value;
    assert.equal(task.state, "succeeded");
    assert.ok(events && events.length > 0, "the events came along");
    assert.equal(events.at(-1)!.seq, task.last_event?.seq);
    assert.equal(result?.id, task.id);
    assert.equal(result?.state, "succeeded");

    // Without wait_s the answer is the accepted task alone, as before.
    const plain = await client.delegate(body);
    assert.ok(plain.ok);
    assert.equal(plain.value.events, undefined);
    assert.equal(plain.value.result, undefined);
    const end = await followTask(client, plain.value.task.id, { untilTerminal: true });
    assert.ok(end.ok);
    assert.equal(end.value.task.state, "succeeded");
  } finally {
    await world.stop();
  }
});
