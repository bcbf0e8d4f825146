/** The control token is written anew at every daemon start; clients follow it. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ControlClient } from "../../src/control/client.ts";
import { controlTokenPath, readControlToken, rotateControlToken } from "../../src/control/token.ts";
import { createNode, freePort, tempDir } from "../support/daemon.ts";

Deno.test("rotateControlToken: a new 0600 token each time, replaced whole, nothing left beside it", async () => {
  const dir = await tempDir("cmesh-token-");
  try {
    const state = join(dir.path, "state");
    const first = await rotateControlToken(state);
    const second = await rotateControlToken(state);
    assert.notEqual(first, second);
    assert.match(second, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(await readControlToken(state), second);
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(controlTokenPath(state))).mode! & 0o777, 0o600);
    }
    const names = [...Deno.readDirSync(state)].map((e) => e.name);
    assert.deepEqual(names, ["control.token"]);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("daemon restart: a token caught before it opens nothing; a client made before it still works", async () => {
  const dir = await tempDir("cmesh-token-");
  const home = join(dir.path, "home");
  const port = freePort();
  const node = await createNode(home, {
    config: {
      node: { name: "laptop" },
      daemon: { control_port: port, worker_port: freePort() },
    },
  });
  try {
    await node.start();
    const caught = await node.token();
    const client = new ControlClient({
      port,
      token: caught,
      tokenFile: controlTokenPath(join(home, "state")),
      configFile: node.configFile,
    });
    assert.ok((await client.status()).ok);
    await node.stop();
    await node.start();
    assert.notEqual(await node.token(), caught, "a new token at the new start");
    const again = await client.status();
    assert.ok(
      again.ok,
      `the client made before the restart reads the new token on its 401: ${JSON.stringify(again)}`,
    );
    const stale = await fetch(`http://127.0.0.1:${port}/v1/status`, {
      headers: { authorization: `Bearer ${caught}` },
    });
    await stale.body?.cancel();
    assert.equal(stale.status, 401, "the token caught before the restart is refused");
  } finally {
    await node.stop();
    await dir.cleanup();
  }
});
