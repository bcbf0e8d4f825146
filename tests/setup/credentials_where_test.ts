/**
 * `cmesh doctor` looks for runner credentials where the daemon really gets them: the running
 * daemon's own environment (its status lists credential variable NAMES per runner, never
 * values), else this shell plus `service.env` (what the systemd service reads). The fix names
 * `service.env`. Regression: doctor used to look only at its own shell, so a key in
 * `service.env` was reported missing, and a key only in the doctor's shell was reported found.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Check } from "../../src/setup/verdict.ts";
import { freePort, startDaemon, tempDir } from "../support/daemon.ts";
import { startLocalApiDouble } from "../support/localapi_double.ts";
import { cleanEnv, cmesh, fakeProgram, json } from "./_helpers.ts";

const runnerCheck = async (env: Record<string, string>): Promise<Check> => {
  const r = await cmesh(["doctor", "--json"], env);
  const d = json<{ checks: Check[] }>(r);
  const c = d.checks.find((x) => x.id === "runner.claude");
  assert.ok(c, JSON.stringify(d.checks));
  return c;
};

Deno.test({
  name: "doctor: credentials from service.env and from the running daemon, named by source",
  fn: async () => {
    const dir = await tempDir("cmesh-creds-");
    const api = await startLocalApiDouble({
      self: { name: "desk", ips: ["100.64.0.1"], login: "ann@example.com" },
      nodes: [{ name: "laptop", ips: ["100.64.0.2"], login: "ann@example.com" }],
      tun: false,
    });
    let daemon: Awaited<ReturnType<typeof startDaemon>> | null = null;
    try {
      const home = join(dir.path, "cmesh");
      const repo = join(dir.path, "repo");
      const bin = join(dir.path, "bin");
      await Deno.mkdir(home);
      await Deno.mkdir(repo);
      await fakeProgram(bin, "claude", { stdout: "2.1.197 (Claude Code)" });
      await Deno.writeTextFile(
        join(home, "config.toml"),
        `[daemon]\ncontrol_port = ${freePort()}\nworker_port = ${freePort()}\n[tailscale]\nsocket = "${api.socketPath}"\nuserspace_networking = true\n[inbound]\nenabled = true\n[[inbound.allow]]\npeers = ["laptop"]\ncwd = ["${repo}"]\nrunners = ["claude"]\n`,
      );
      const path = `${bin}:${Deno.env.get("PATH")}`;
      const shell = cleanEnv(dir.path, { CMESH_HOME: home, PATH: path });
      for (const k of Object.keys(shell)) if (/API_KEY|OAUTH_TOKEN/.test(k)) delete shell[k];
      const serviceEnv = join(home, "service.env");

      // No daemon, no key anywhere: the fix says where the key goes.
      let c = await runnerCheck(shell);
      assert.equal(c.status, "warn", c.detail);
      assert.match(c.detail, new RegExp(`none of them is set in this shell or in ${serviceEnv}`));
      assert.match(c.fix ?? "", new RegExp(`put one in ${serviceEnv} .*cmesh service install`));

      // The key in service.env (as the docs say) counts.
      await Deno.writeTextFile(serviceEnv, "# runner secrets\nANTHROPIC_API_KEY=sk-ant-x\n", {
        mode: 0o600,
      });
      c = await runnerCheck(shell);
      assert.equal(c.status, "pass", c.detail);
      assert.match(c.detail, new RegExp(`ANTHROPIC_API_KEY set here or in ${serviceEnv}`));
      assert.doesNotMatch(c.detail, /sk-ant-x/);
      await Deno.remove(serviceEnv);

      // A running daemon without the key: the doctor's own shell having it does not help.
      daemon = await startDaemon(home, { env: { HOME: dir.path, PATH: path } });
      c = await runnerCheck({ ...shell, ANTHROPIC_API_KEY: "sk-ant-shell" });
      assert.equal(c.status, "warn", c.detail);
      assert.match(c.detail, /the running daemon has none of them/);
      await daemon.stop();

      // A running daemon with the key, a shell without: found, in the daemon.
      daemon = await startDaemon(home, {
        env: { HOME: dir.path, PATH: path, ANTHROPIC_API_KEY: "sk-ant-daemon" },
      });
      c = await runnerCheck(shell);
      assert.equal(c.status, "pass", c.detail);
      assert.match(c.detail, /ANTHROPIC_API_KEY set in the running daemon/);
    } finally {
      await daemon?.stop();
      await api.stop();
      await dir.cleanup();
    }
  },
});
