/**
 * The generated systemd user unit, checked by systemd itself: `systemd-analyze --user verify`
 * (Debian's `systemd` package) parses every directive and checks that ExecStart's program
 * exists. It only warns about a directive it cannot parse, so any warning counts as a failure. Runs with a private XDG_RUNTIME_DIR, so no user session is needed. Skips with a
 * message when systemd-analyze is not installed (`.ci/run` installs it).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { daemonInvocation, type ServiceSpec } from "../../src/service/spec.ts";
import { systemdUnit } from "../../src/service/systemd.ts";
import { currentSelf } from "../../src/service/spec.ts";
import { tempDir } from "../support/daemon.ts";
import { which } from "../setup/_helpers.ts";

const analyze = Deno.build.os === "linux" ? which("systemd-analyze") : null;
const SKIP = analyze === null;
if (SKIP) {
  console.warn(
    "SKIP systemd_verify_test: systemd-analyze is not installed (Debian package 'systemd'; .ci/run installs it)",
  );
}

async function verify(unitText: string, dir: string): Promise<{ ok: boolean; output: string }> {
  const unit = join(dir, "cmesh.service");
  await Deno.writeTextFile(unit, unitText);
  const runtime = join(dir, "runtime");
  await Deno.mkdir(runtime, { recursive: true, mode: 0o700 });
  const out = await new Deno.Command(analyze!, {
    args: ["--user", "verify", unit],
    env: { XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: "0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const output = dec.decode(out.stdout) + dec.decode(out.stderr);
  // systemd only warns about directives it cannot parse ("..., ignoring"): count those too.
  const complaints = /failed|unknown|ignoring|invalid|not executable/i.test(output);
  return { ok: out.success && !complaints, output };
}

function specWith(over: Partial<ServiceSpec>): ServiceSpec {
  return {
    invocation: daemonInvocation(currentSelf()),
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    workingDirectory: "/",
    logFile: "/unused",
    envFile: "/nonexistent/service.env",
    version: "0.0.0-test",
    ...over,
  };
}

Deno.test({
  name: "systemd-analyze verify accepts the from-source unit (deno run --allow-read ...)",
  ignore: SKIP,
  async fn() {
    const dir = await tempDir("cmesh-unit-");
    try {
      const r = await verify(systemdUnit(specWith({})), dir.path);
      assert.ok(r.ok, r.output);
    } finally {
      await dir.cleanup();
    }
  },
});

Deno.test({
  name:
    "systemd-analyze verify accepts a compiled-binary unit whose paths hold spaces, % and $; and rejects a broken one",
  ignore: SKIP,
  async fn() {
    const dir = await tempDir("cmesh-unit-");
    try {
      const binDir = join(dir.path, "my 100% $tools");
      await Deno.mkdir(binDir);
      const exe = join(binDir, "cmesh");
      await Deno.writeTextFile(exe, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      await Deno.chmod(exe, 0o755);
      const good = systemdUnit(specWith({
        invocation: daemonInvocation({ standalone: true, execPath: exe }, join(binDir, "c.toml")),
        env: { PATH: "/usr/bin", CMESH_HOME: join(binDir, "home") },
        workingDirectory: binDir,
        envFile: join(binDir, "service.env"),
      }));
      const r = await verify(good, dir.path);
      assert.ok(r.ok, `${r.output}\n${good}`);

      // The same unit with the quoting undone must fail: the check really looks.
      const broken = good.replace(/^ExecStart=.*$/m, `ExecStart=${exe} daemon`);
      const bad = await verify(broken, dir.path);
      assert.ok(!bad.ok, "an unquoted path with a space must not verify");
      const badRestart = await verify(
        good.replace("Restart=on-failure", "Restart=sometimes"),
        dir.path,
      );
      assert.ok(!badRestart.ok);
      assert.match(badRestart.output, /restart/i);
    } finally {
      await dir.cleanup();
    }
  },
});
