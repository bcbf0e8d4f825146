/**
 * service.env: dotenv syntax into the daemon's environment; a missing file is skipped, a bad
 * one refused with the file and the fix; `cmesh daemon --env-file` stops on a bad file.
 */
import assert from "node:assert/strict";
import { EnvFileError, loadEnvFile, parseEnvFile } from "../../src/config/env_file.ts";
import { runCmesh, withHome } from "../cli/cli_harness.ts";

Deno.test("parseEnvFile: dotenv lines, comments, quotes, export", () => {
  assert.deepEqual(
    parseEnvFile("f", '# keys\nANTHROPIC_API_KEY=sk-1\nexport OPENAI_API_KEY="sk 2"\n\nX = y\n'),
    { ANTHROPIC_API_KEY: "sk-1", OPENAI_API_KEY: "sk 2", X: "y" },
  );
  assert.throws(() => parseEnvFile("/c/service.env", "CMESH_HOME=/tmp\n"), /CMESH_ variables/);
  assert.throws(() => parseEnvFile("/c/service.env", "A-B=1\n"), /not a variable name/);
});

Deno.test("loadEnvFile: sets the variables, reports names only; missing is skipped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const name = `CMESH_TEST_ENV_${crypto.randomUUID().slice(0, 8)}`.replace("CMESH_", "T_");
    await Deno.writeTextFile(`${dir}/service.env`, `${name}=secret-value\n`);
    const loaded = await loadEnvFile(`${dir}/service.env`);
    assert.deepEqual(loaded, { missing: false, names: [name] });
    assert.equal(Deno.env.get(name), "secret-value");
    Deno.env.delete(name);
    assert.deepEqual(await loadEnvFile(`${dir}/nope.env`), { missing: true, names: [] });
    await Deno.writeFile(`${dir}/big.env`, new Uint8Array(70 * 1024).fill(65));
    await assert.rejects(() => loadEnvFile(`${dir}/big.env`), EnvFileError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "cmesh daemon --env-file: a malformed file stops the start with invalid_env_file",
  ignore: Deno.build.os === "windows",
  fn: () =>
    withHome(async (home) => {
      const file = `${home}/bad.env`;
      await Deno.writeTextFile(file, "CMESH_HOME=/elsewhere\n");
      const r = await runCmesh(["daemon", "--json", "--env-file", file], { home });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.error.code, "invalid_env_file");
      assert.match(out.error.message, /bad\.env: CMESH_HOME: CMESH_ variables cannot be set/);
    }),
});
