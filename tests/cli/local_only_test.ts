/**
 * @module
 * `cmesh daemon --local-only` end to end, the way docs/quickstart.md uses it: one daemon is both
 * requester and worker, with the peer "local" at 127.0.0.1. Tasks from this user run (the demo
 * runner, and the real Claude Code CLI against the fake model); a connection of another user
 * is refused with the reason. `delegate --wait` prints the task id first, and Ctrl-C stops
 * waiting (exit 130) with the commands that follow or cancel the still-running task.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cmeshArgs,
  type ConfigInput,
  createNode,
  freePort,
  makeRepo,
  REPO_ROOT,
  tempDir,
} from "../support/daemon.ts";
import { startFakeModel } from "../support/fake_model/server.ts";
import { findOnPath } from "../support/proc.ts";
import { jsonOf, runCmesh } from "./cli_harness.ts";

const LINUX = Deno.build.os === "linux";
const claude = findOnPath("claude");
const SCRIPTS = new URL("../testdata/fake_model/", import.meta.url);
const NOTES = "local-only-notes-17";

function config(repo: string, workerPort: number, fakeUrl: string): ConfigInput {
  return {
    daemon: { control_port: freePort(), worker_port: workerPort },
    tailscale: { socket: `${repo}/../no-tailscaled.sock` },
    inbound: {
      enabled: true,
      allow: [{ peers: ["local"], cwd: [repo], runners: ["demo", "claude"] }],
    },
    outbound: { peers: [{ name: "local", address: "127.0.0.1", port: workerPort }] },
    runners: {
      demo: {},
      claude: { env: { ANTHROPIC_BASE_URL: fakeUrl, ANTHROPIC_API_KEY: "sk-ant-fake" } },
    },
  };
}

Deno.test({
  name:
    "daemon --local-only: tasks from this user run (demo, real claude); other users are refused; Ctrl-C on delegate --wait",
  ignore: !LINUX,
  async fn() {
    const dir = await tempDir("cmesh-local-only-");
    const fake = await startFakeModel({
      script: new URL("read_then_answer.json", SCRIPTS),
      vars: { workdir: join(dir.path, "repo") },
    });
    const repo = join(dir.path, "repo");
    const workerPort = freePort();
    const node = await createNode(join(dir.path, "cmesh"), {
      config: config(repo, workerPort, fake.url),
      args: ["--local-only"],
      env: { HOME: dir.path },
    });
    const home = node.home;
    try {
      await makeRepo(repo);
      await Deno.writeTextFile(join(repo, "notes.txt"), `${NOTES}\n`);
      const daemon = await node.start();
      assert.deepEqual(daemon.ready.worker, [`127.0.0.1:${workerPort}`]);
      assert.match(daemon.stderr(), /LOCAL-ONLY MODE/);
      const env = { HOME: dir.path };

      // 1. The demo runner, through the supported mode (no hidden flag).
      const demo = await runCmesh(
        [
          "delegate",
          "local",
          "Describe this repo",
          "--cwd",
          repo,
          "--runner",
          "demo",
          "--wait",
          "--json",
        ],
        { home, env },
      );
      assert.equal(demo.code, 0, demo.stdout + demo.stderr);
      assert.equal((jsonOf(demo).task as { state: string }).state, "succeeded");

      // doctor knows the mode: no tailscaled is expected, not a failure.
      const doc = await runCmesh(["doctor", "--json"], { home, env });
      const checks = (jsonOf(doc) as { checks: { id: string; status: string; detail: string }[] })
        .checks;
      const byId = Object.fromEntries(checks.map((c) => [c.id, c]));
      assert.equal(byId.tailscale.status, "pass", byId.tailscale.detail);
      assert.match(byId.tailscale.detail, /not used: the daemon runs --local-only/);
      assert.match(byId.daemon.detail, /LOCAL-ONLY MODE/);

      // 2. Another user on this machine is not "local".
      const setpriv = findOnPath("setpriv");
      const curl = findOnPath("curl");
      if (Deno.uid() === 0 && setpriv && curl) {
        const other = await new Deno.Command(setpriv, {
          args: [
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            curl,
            "-s",
            `http://127.0.0.1:${workerPort}/v1/hello`,
          ],
          stdout: "piped",
        }).output();
        const body = JSON.parse(new TextDecoder().decode(other.stdout));
        assert.equal(body.error.code, "unknown_peer", JSON.stringify(body));
        assert.match(body.error.message, /belongs to uid 65534, not to this daemon's user/);
      } else {
        console.warn("SKIP other-user part: needs root, setpriv and curl");
      }

      // 3. The real Claude Code CLI against the fake model.
      if (claude) {
        const r = await runCmesh(
          [
            "delegate",
            "local",
            "Read notes.txt and say what it holds",
            "--cwd",
            repo,
            "--runner",
            "claude",
            "--wait",
            "--json",
          ],
          { home, env },
        );
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const out = jsonOf(r) as {
          task: { state: string };
          result: { claims: { final_text: string } };
        };
        assert.equal(out.task.state, "succeeded");
        assert.match(out.result.claims.final_text, new RegExp(NOTES));
        assert.ok(fake.requestsFor("anthropic").length >= 2);
      } else {
        console.warn("SKIP real-claude part: claude is not on PATH");
      }

      // 4. delegate --wait: the id first; Ctrl-C stops waiting, says how to follow or cancel.
      fake.setScript(new URL("hang.json", SCRIPTS));
      const child = new Deno.Command(Deno.execPath(), {
        args: cmeshArgs(
          "delegate",
          "local",
          "Wait on a model that never answers",
          "--cwd",
          repo,
          "--runner",
          claude ? "claude" : "demo",
          "--wait",
        ),
        cwd: REPO_ROOT,
        env: { CMESH_HOME: home, HOME: dir.path, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let stderr = "";
      // Stop reading at the id line, or at the first progress line (the id must come before it).
      while (
        !/waiting for it \(Ctrl-C stops waiting, not the task\)\n|^state: running/m.test(stderr)
      ) {
        const { value, done } = await reader.read();
        if (done) break;
        stderr += value;
      }
      const id = /^delegated (\S+) to local;/m.exec(stderr)?.[1];
      if (!id) child.kill("SIGKILL");
      assert.ok(id, `no task id before the progress:\n${stderr}`);
      child.kill("SIGINT");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        stderr += value;
      }
      const status = await child.status;
      await child.stdout.cancel();
      assert.equal(status.code, 130, stderr);
      assert.match(stderr, new RegExp(`stopped waiting; ${id} is still \\w+ on local`));
      assert.match(stderr, new RegExp(`follow it: cmesh tasks logs ${id} --follow`));
      assert.match(stderr, new RegExp(`cancel it: cmesh tasks cancel ${id}`));
      // The task kept going; the printed cancel command ends it.
      const cancel = await runCmesh(["tasks", "cancel", id, "--json"], { home, env });
      assert.equal(cancel.code, 0, cancel.stdout + cancel.stderr);
    } finally {
      await node.stop();
      await fake.close();
      await dir.cleanup();
    }
  },
});
