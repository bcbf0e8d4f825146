/**
 * @module
 * Binary resolution (PATH lookup, messages for missing binaries) and the version probe
 * against real binaries (`git --version`, and a few small scripts).
 */
import assert from "node:assert/strict";
import { probeVersion, resolveBinary } from "../../src/runner/probe.ts";
import { setupError } from "./_setup_error.ts";

async function tempBin(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "cmesh-probe-" });
  const write = async (name: string, body: string, mode: number) => {
    await Deno.writeTextFile(`${dir}/${name}`, body);
    await Deno.chmod(`${dir}/${name}`, mode);
  };
  await write("agent", "#!/bin/sh\necho 'agent 1.2.3 (test)'\necho second line\n", 0o755);
  await write("noexec", "#!/bin/sh\necho x\n", 0o644);
  await write("fails", "#!/bin/sh\necho 'bad flag --version' >&2\nexit 2\n", 0o755);
  // Sleeps far past any probe timeout: a timeout that does not stop it shows as a hung test.
  await write("slow", "#!/bin/sh\nexec sleep 600\n", 0o755);
  await write("stderr-only", "#!/bin/sh\necho 'tool v9' >&2\n", 0o755);
  await write("silent", "#!/bin/sh\nexit 0\n", 0o755);
  await write("env", "#!/bin/sh\nenv | sort | tr '\\n' ' '\necho\n", 0o755);
  await Deno.mkdir(`${dir}/adir`);
  return dir;
}

const skipOnWindows = Deno.build.os === "windows";

Deno.test({
  name: "resolveBinary: finds a name on PATH, skipping relative entries and non-executables",
  ignore: skipOnWindows,
  async fn() {
    const dir = await tempBin();
    try {
      assert.equal(
        await resolveBinary("agent", `.:relative:${dir}`, { runner: "x" }),
        `${dir}/agent`,
      );
      await setupError(resolveBinary("noexec", dir, { runner: "x" }));
      await setupError(resolveBinary("adir", dir, { runner: "x" }));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("resolveBinary: missing binary names runner, PATH, install hint and config key", async () => {
  const err = await setupError(
    resolveBinary("codex", "/nonexistent/a:/nonexistent/b", {
      runner: "codex",
      installHint: "install it with `npm i -g @openai/codex`",
      os: "linux",
    }),
  );
  assert.equal(err.code, "runner_binary_not_found");
  assert.equal(
    err.message,
    "runner 'codex': binary 'codex' not found on PATH (/nonexistent/a:/nonexistent/b); install it with `npm i -g @openai/codex` or set runners.codex.binary in config.toml",
  );
});

Deno.test("resolveBinary: absolute paths are checked, relative paths refused", async () => {
  const git = await resolveBinary("git", Deno.env.get("PATH") ?? "", { runner: "git" });
  assert.equal(await resolveBinary(git, "", { runner: "git" }), git);
  const missing = await setupError(resolveBinary("/nonexistent/claude", "", { runner: "claude" }));
  assert.match(missing.message, /^runner 'claude': binary \/nonexistent\/claude does not exist/);
  const rel = await setupError(resolveBinary("./bin/claude", "/usr/bin", { runner: "claude" }));
  assert.match(rel.message, /is a relative path/);
});

Deno.test("probeVersion: a real binary (git --version)", async () => {
  const git = await resolveBinary("git", Deno.env.get("PATH") ?? "", { runner: "git" });
  const version = await probeVersion(git, ["--version"], 10_000);
  assert.match(version, /^git version \d+\.\d+/);
});

Deno.test({
  name: "probeVersion: first line; stderr when stdout is empty; failures and timeouts",
  ignore: skipOnWindows,
  async fn() {
    const dir = await tempBin();
    try {
      assert.equal(await probeVersion(`${dir}/agent`, ["--version"], 5000), "agent 1.2.3 (test)");
      assert.equal(await probeVersion(`${dir}/stderr-only`, [], 5000), "tool v9");
      const failed = await setupError(probeVersion(`${dir}/fails`, ["--version"], 5000));
      assert.equal(failed.code, "runner_version_probe_failed");
      assert.equal(
        failed.message,
        `${dir}/fails --version failed (exit code 2): bad flag --version`,
      );
      const silent = await setupError(probeVersion(`${dir}/silent`, [], 5000));
      assert.match(silent.message, /printed nothing$/);
      const slow = await setupError(probeVersion(`${dir}/slow`, [], 300));
      assert.match(slow.message, /did not answer within 300 ms$/);
      const missing = await setupError(probeVersion(`${dir}/nope`, [], 1000));
      assert.match(missing.message, /could not be started/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "probeVersion: the child gets the scrubbed base env only",
  ignore: skipOnWindows,
  async fn() {
    const dir = await tempBin();
    try {
      const line = await probeVersion(`${dir}/env`, [], 5000, {
        PATH: "/usr/bin:/bin",
        HOME: "/home/ada",
        AWS_SECRET_ACCESS_KEY: "secret",
        CMESH_CONTROL_TOKEN: "tok",
      });
      assert.ok(line.includes("HOME=/home/ada"), line);
      assert.ok(line.includes("TERM=dumb"), line);
      assert.ok(!line.includes("AWS_SECRET_ACCESS_KEY"), line);
      assert.ok(!line.includes("CMESH_CONTROL_TOKEN"), line);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
