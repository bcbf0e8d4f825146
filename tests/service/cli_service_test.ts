/**
 * `cmesh service install|status|uninstall` through the real CLI (Linux), with a fake
 * `systemctl` first on PATH that records its arguments: the unit lands in the temp HOME,
 * the manager is driven in order, `--json` shapes, and a refusing systemctl gives exit 1
 * with the hint.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "../support/daemon.ts";
import { calls, cleanEnv, cmesh, fakeProgram, json } from "../setup/_helpers.ts";

const LINUX = Deno.build.os === "linux";

Deno.test({
  name: "service install → status → uninstall with a recording systemctl",
  ignore: !LINUX,
  async fn() {
    const dir = await tempDir("cmesh-svc-");
    try {
      const bin = join(dir.path, "fakebin");
      const log = await fakeProgram(bin, "systemctl", { stdout: "active" });
      const env = cleanEnv(dir.path, { PATH: `${bin}:${Deno.env.get("PATH")}` });

      const install = await cmesh(["service", "install", "--json"], env);
      assert.equal(install.code, 0, install.stderr);
      const out = json<{ file: string; started: boolean; changed: boolean; manager: string }>(
        install,
      );
      assert.equal(out.manager, "systemd");
      assert.equal(out.file, join(dir.path, ".config/systemd/user/cmesh.service"));
      assert.equal(out.started, true);
      const unit = await Deno.readTextFile(out.file);
      assert.match(
        unit,
        /^ExecStart=\S+ run --no-prompt --allow-read --allow-write --allow-net --allow-run --allow-env --allow-sys --deny-ffi --deny-import --v8-flags=--max-semi-space-size=1,--no-short-builtin-calls --no-code-cache --config \S+deno\.json \S+src\/main\.ts daemon$/m,
      );
      assert.match(unit, new RegExp(`^Environment="PATH=${bin}:`, "m"));
      assert.deepEqual(await calls(log), [
        "--user daemon-reload",
        "--user enable cmesh.service",
        "--user restart cmesh.service",
      ]);

      const status = await cmesh(["service", "status", "--json"], env);
      assert.equal(status.code, 0, status.stderr);
      const st = json<
        { installed: boolean; up_to_date: boolean; state: string; daemon: { running: boolean } }
      >(
        status,
      );
      assert.deepEqual([st.installed, st.up_to_date, st.state, st.daemon.running], [
        true,
        true,
        "active",
        false,
      ]);

      const human = await cmesh(["service", "status"], env);
      assert.match(human.stdout, /service: systemd, active/);
      assert.match(human.stdout, /daemon: +not answering/);

      const un = await cmesh(["service", "uninstall", "--json"], env);
      assert.equal(un.code, 0, un.stderr);
      assert.equal(json<{ removed: boolean }>(un).removed, true);
      await assert.rejects(Deno.stat(out.file), Deno.errors.NotFound);
      assert.ok((await calls(log)).includes("--user disable --now cmesh.service"));
    } finally {
      await dir.cleanup();
    }
  },
});

Deno.test({
  name:
    "service install when systemctl cannot reach a user session: exit 1, the unit kept, the hint",
  ignore: !LINUX,
  async fn() {
    const dir = await tempDir("cmesh-svc-");
    try {
      const bin = join(dir.path, "fakebin");
      await fakeProgram(bin, "systemctl", {
        code: 1,
        stderr: "Failed to connect to bus: No medium found",
      });
      const env = cleanEnv(dir.path, { PATH: `${bin}:${Deno.env.get("PATH")}` });
      const r = await cmesh(["service", "install", "--json"], env);
      assert.equal(r.code, 1);
      const err = json<{ error: { code: string; message: string; file: string; hint: string } }>(r)
        .error;
      assert.equal(err.code, "service_not_started");
      assert.match(err.hint, /loginctl enable-linger/);
      await Deno.stat(err.file);
      const human = await cmesh(["service", "install"], env);
      assert.equal(human.code, 1);
      assert.match(human.stderr, /kept .*cmesh\.service, but the service was not started/);

      const noStart = await cmesh(["service", "install", "--no-start"], env);
      assert.equal(noStart.code, 0, noStart.stderr);
      assert.match(noStart.stdout, /unchanged: .*cmesh\.service/);
    } finally {
      await dir.cleanup();
    }
  },
});
