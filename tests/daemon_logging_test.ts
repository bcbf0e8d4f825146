import assert from "node:assert/strict";
import { makeRepo, startDaemon, tempDir } from "./support/daemon.ts";
import { freePort } from "./support/daemon.ts";
import { ControlClient } from "../src/control/client.ts";

Deno.test("daemon logs are JSON lines off a terminal and never contain the prompt", async () => {
  const dir = await tempDir();
  const home = `${dir.path}/home`;
  const repo = `${dir.path}/repo`;
  await makeRepo(repo);
  const [control, worker] = [freePort(), freePort()];
  await Deno.mkdir(home, { recursive: true });
  await Deno.writeTextFile(
    `${home}/config.toml`,
    `[node]\nname = "server"\n[daemon]\nstate_dir = "${home}/state"\ncontrol_port = ${control}\n` +
      `worker_port = ${worker}\n[inbound]\nenabled = true\n[[inbound.allow]]\npeers = ["laptop"]\n` +
      `cwd = ["${repo}"]\nrunners = ["demo"]\n[runners.demo]\n[[outbound.peers]]\nname = "server"\n` +
      `address = "127.0.0.1"\nport = ${worker}\ncwd = ["${dir.path}/**"]\n`,
  );
  const d = await startDaemon(home, { demoCaller: "laptop" });
  try {
    const client = await ControlClient.fromConfig(`${home}/config.toml`);
    const secret = "PROMPT-SECRET-7f3a9c";
    const r = await client.post("/v1/delegate", {
      peer: "server",
      task: `summarise ${secret}`,
      cwd: repo,
    });
    assert.ok(r.ok, JSON.stringify(r));
    const id = (r.body.task as { id: string }).id;
    for (let i = 0; i < 50; i++) {
      const s = await client.get(`/v1/tasks/${id}/wait?timeout_s=2`);
      if (s.ok && (s.body.task as { state: string }).state === "succeeded") break;
    }
  } finally {
    await d.stop();
  }
  // Every line is cmesh's JSON: Deno adds no warning of its own (explicit permission flags).
  const lines = d.stderr().split("\n").filter((l) => l.trim());
  assert.ok(lines.length >= 3, d.stderr());
  const records = lines.map((l) => JSON.parse(l));
  assert.ok(records.every((r) => typeof r.level === "string" && typeof r.message === "string"));
  // The worker thread's record, written by the main thread (worker/log_port.ts) with its own
  // category and properties.
  const admitted = records.find((r) => /admitted task .* from "laptop"/.test(r.message));
  assert.ok(admitted, d.stderr());
  assert.equal(admitted.logger, "cmesh.worker");
  assert.equal(admitted.properties.node, "laptop");
  assert.ok(!d.stderr().includes("PROMPT-SECRET-7f3a9c"));
  await dir.cleanup();
});
