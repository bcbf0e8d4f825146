import assert from "node:assert/strict";
import { freePort, runCmesh, startDaemon, tempDir } from "../support/daemon.ts";

Deno.test("a second daemon on the same state dir is refused with daemon_running; a bad config with invalid_config", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/config.toml`,
    `[daemon]\ncontrol_port = ${freePort()}\nworker_port = ${freePort()}\n`,
  );
  const first = await startDaemon(dir.path);
  try {
    const second = await runCmesh(["daemon", "--json"], { CMESH_HOME: dir.path });
    assert.equal(second.code, 1);
    const err = JSON.parse(second.stdout).error;
    assert.equal(err.code, "daemon_running");
    assert.match(err.message, /already running with state dir .*\(pid \d+\)/);
  } finally {
    await first.stop();
  }
  await Deno.writeTextFile(`${dir.path}/config.toml`, `[daemon]\nbogus = 1\n`);
  const bad = await runCmesh(["daemon", "--json"], { CMESH_HOME: dir.path });
  assert.equal(bad.code, 1);
  const err = JSON.parse(bad.stdout).error;
  assert.equal(err.code, "invalid_config");
  assert.deepEqual(err.problems, [
    "daemon.bogus: unknown key (check the spelling; see docs/configuration.md)",
  ]);
  await dir.cleanup();
});
