/**
 * @module
 * `cmesh config path|show|validate|init`, through the real entry point, each with a fresh
 * `CMESH_HOME`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { parseConfigText } from "../../../src/config/load.ts";
import { Config } from "../../../src/config/schema.ts";
import { CONFIG_TEMPLATE } from "../../../src/config/template.ts";
import { jsonOf, runCmesh, withHome } from "../cli_harness.ts";

const INVALID_DIR = new URL("../../testdata/config/invalid/", import.meta.url);
const VALID_FULL = new URL("../../testdata/config/valid/full.toml", import.meta.url);

// --- config path -------------------------------------------------------------------------

Deno.test("config path: CMESH_HOME decides config, runners and state", async () => {
  await withHome(async (home) => {
    const r = await runCmesh(["config", "path", "--json"], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(jsonOf(r), {
      config_file: join(home, "config.toml"),
      runners_dir: join(home, "runners"),
      state_dir: join(home, "state"),
    });
    const human = await runCmesh(["config", "path"], { home });
    assert.equal(human.code, 0);
    assert.match(
      human.stdout,
      new RegExp(`config file: ${RegExp.escape(join(home, "config.toml"))}`),
    );
    assert.match(human.stdout, /runners dir: /);
    assert.match(human.stdout, /state dir: /);
  });
});

Deno.test("config path: daemon.state_dir in the config overrides the state dir", async () => {
  await withHome(async (home) => {
    await Deno.writeTextFile(join(home, "config.toml"), '[daemon]\nstate_dir = "/var/lib/cm"\n');
    const r = await runCmesh(["config", "path", "--json"], { home });
    assert.equal((jsonOf(r) as { state_dir: string }).state_dir, "/var/lib/cm");
  });
});

Deno.test("config path: still answers when the config is invalid", async () => {
  await withHome(async (home) => {
    await Deno.writeTextFile(join(home, "config.toml"), "bogus = 1\n");
    const r = await runCmesh(["config", "path", "--json"], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((jsonOf(r) as { state_dir: string }).state_dir, join(home, "state"));
  });
});

Deno.test("config file choice: --config beats CMESH_CONFIG beats CMESH_HOME", async () => {
  await withHome(async (home) => {
    const viaEnv = join(home, "env.toml");
    const viaFlag = join(home, "flag.toml");
    const env = { CMESH_CONFIG: viaEnv };
    const fromEnv = await runCmesh(["config", "path", "--json"], { home, env });
    assert.equal((jsonOf(fromEnv) as { config_file: string }).config_file, viaEnv);
    // --config must name an existing file (tests/cli/cli_truth_test.ts).
    await Deno.writeTextFile(viaFlag, "");
    const fromFlag = await runCmesh(["config", "path", "--json", "--config", viaFlag], {
      home,
      env,
    });
    assert.equal((jsonOf(fromFlag) as { config_file: string }).config_file, viaFlag);
    const emptyEnv = await runCmesh(["config", "path", "--json"], {
      home,
      env: { CMESH_CONFIG: "" },
    });
    assert.equal(
      (jsonOf(emptyEnv) as { config_file: string }).config_file,
      join(home, "config.toml"),
      "an empty CMESH_CONFIG counts as unset",
    );
  });
});

// --- config show -------------------------------------------------------------------------

Deno.test("config show --json: file, exists and the effective config with defaults", async () => {
  await withHome(async (home) => {
    const r = await runCmesh(["config", "show", "--json"], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(jsonOf(r), {
      file: join(home, "config.toml"),
      exists: false,
      config: JSON.parse(JSON.stringify(Config.parse({}))),
    });
  });
});

Deno.test("config show: human output is TOML that round-trips to the same config", async () => {
  await withHome(async (home) => {
    const file = join(home, "config.toml");
    await Deno.copyFile(VALID_FULL, file);
    const r = await runCmesh(["config", "show"], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# effective configuration \(/);
    const expected = parseConfigText(await Deno.readTextFile(file), file);
    assert.deepEqual(parseConfigText(r.stdout, "show output"), expected);
    const plain = (v: unknown) => JSON.parse(JSON.stringify(v));
    assert.deepEqual(plain(parseToml(r.stdout)), plain(expected), "no defaults are dropped");
  });
});

Deno.test("config show on an invalid file: exit 1, located problems", async () => {
  await withHome(async (home) => {
    await Deno.writeTextFile(join(home, "config.toml"), "[daemon]\nworker_port = 0\n");
    const r = await runCmesh(["config", "show"], { home });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.cmeshStderr, /daemon\.worker_port: must be a port number from 1 to 65535/);
  });
});

// --- config validate ---------------------------------------------------------------------

Deno.test("config validate: a missing file means valid defaults, exit 0", async () => {
  await withHome(async (home) => {
    const r = await runCmesh(["config", "validate"], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${join(home, "config.toml")} does not exist: defaults are valid\n`);
    const json = await runCmesh(["config", "validate", "--json"], { home });
    assert.deepEqual(jsonOf(json), {
      file: join(home, "config.toml"),
      valid: true,
      exists: false,
    });
  });
});

Deno.test("config validate: a valid file, exit 0", async () => {
  await withHome(async (home) => {
    const file = join(home, "config.toml");
    await Deno.copyFile(VALID_FULL, file);
    const r = await runCmesh(["config", "validate"], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${file}: valid\n`);
    const json = await runCmesh(["config", "validate", "--json"], { home });
    assert.deepEqual(jsonOf(json), { file, valid: true, exists: true });
  });
});

Deno.test("config validate on an invalid file: exit 1 with the located message", async () => {
  await withHome(async (home) => {
    const file = join(home, "config.toml");
    await Deno.copyFile(new URL("relative_cwd.toml", INVALID_DIR), file);
    const r = await runCmesh(["config", "validate"], { home });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(
      r.cmeshStderr.trim(),
      `error: ${file}: invalid configuration\n` +
        '  - inbound.allow[1].cwd[0]: must be an absolute path, got "srv/app"',
    );
  });
});

Deno.test("config validate --json on an invalid file: exit 1, error with problems", async () => {
  await withHome(async (home) => {
    const file = join(home, "config.toml");
    await Deno.copyFile(new URL("several_problems.toml", INVALID_DIR), file);
    const r = await runCmesh(["config", "validate", "--json"], { home });
    assert.equal(r.code, 1);
    const expected = (await Deno.readTextFile(new URL("several_problems.expected", INVALID_DIR)))
      .split("\n").filter(Boolean);
    assert.deepEqual(jsonOf(r), {
      error: {
        code: "invalid_config",
        message: `${file}: invalid configuration\n${expected.map((p) => `  - ${p}`).join("\n")}`,
        file,
        problems: expected,
      },
    });
    assert.equal(r.cmeshStderr.trim(), "");
  });
});

Deno.test("config validate: a TOML syntax error names line and column", async () => {
  await withHome(async (home) => {
    await Deno.copyFile(new URL("toml_syntax_error.toml", INVALID_DIR), join(home, "config.toml"));
    const r = await runCmesh(["config", "validate", "--json"], { home });
    assert.equal(r.code, 1);
    const { error } = jsonOf(r) as { error: { problems: string[] } };
    assert.match(error.problems[0], /^line 2, column \d+: TOML syntax error: /);
  });
});

Deno.test("config validate --config: validates that file instead", async () => {
  await withHome(async (home) => {
    const other = join(home, "other.toml");
    await Deno.writeTextFile(other, "[inbound]\nenabled = 1\n");
    const r = await runCmesh(["config", "validate", "--config", other, "--json"], { home });
    assert.equal(r.code, 1);
    const { error } = jsonOf(r) as { error: { file: string; problems: string[] } };
    assert.equal(error.file, other);
    assert.deepEqual(error.problems, ["inbound.enabled: expected boolean, got 1"]);
  });
});

Deno.test("config validate: an unreadable config path is exit 1, 'cannot read'", async () => {
  await withHome(async (home) => {
    await Deno.mkdir(join(home, "config.toml"));
    const r = await runCmesh(["config", "validate", "--json"], { home });
    assert.equal(r.code, 1);
    const { error } = jsonOf(r) as { error: { code: string; problems: string[] } };
    assert.equal(error.code, "invalid_config");
    assert.match(error.problems[0], /^cannot read: /);
  });
});

// --- config init -------------------------------------------------------------------------

Deno.test("config init: writes the starter config, mode 0600, and it validates", async () => {
  await withHome(async (home) => {
    const file = join(home, "config.toml");
    const r = await runCmesh(["config", "init", "--json"], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(jsonOf(r), { written: file, backup: null });
    assert.equal(await Deno.readTextFile(file), CONFIG_TEMPLATE);
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    }
    const v = await runCmesh(["config", "validate"], { home });
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, `${file}: valid\n`);
  });
});

Deno.test("config init: creates missing parent directories (0700)", async () => {
  await withHome(async (home) => {
    const file = join(home, "deep", "er", "config.toml");
    const r = await runCmesh(["config", "init", "--config", file], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `wrote ${file}\n`);
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(join(home, "deep"))).mode! & 0o777, 0o700);
    }
  });
});

Deno.test("config init: refuses to overwrite without --force, file untouched", async () => {
  await withHome(async (home) => {
    const file = join(home, "config.toml");
    await Deno.writeTextFile(file, "# mine\n");
    const r = await runCmesh(["config", "init"], { home });
    assert.equal(r.code, 1);
    assert.match(r.cmeshStderr, /already exists; use --force to replace it/);
    assert.equal(await Deno.readTextFile(file), "# mine\n");
    const json = await runCmesh(["config", "init", "--json"], { home });
    assert.equal(json.code, 1);
    assert.equal((jsonOf(json) as { error: { code: string } }).error.code, "exists");
    const entries = [...Deno.readDirSync(home)].map((e) => e.name);
    assert.deepEqual(entries, ["config.toml"], "no backup without --force");
  });
});

Deno.test("config init --force: replaces the file and keeps the old one as a backup", async () => {
  await withHome(async (home) => {
    const file = join(home, "config.toml");
    await Deno.writeTextFile(file, "# mine\n", { mode: 0o644 });
    const r = await runCmesh(["config", "init", "--force", "--json"], { home });
    assert.equal(r.code, 0, r.stderr);
    const { written, backup } = jsonOf(r) as { written: string; backup: string };
    assert.equal(written, file);
    assert.ok(backup.startsWith(`${file}.bak-`), backup);
    assert.equal(await Deno.readTextFile(backup), "# mine\n");
    assert.equal(await Deno.readTextFile(file), CONFIG_TEMPLATE);
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600, "the new file is 0600");
    }
    const human = await runCmesh(["config", "init", "--force"], { home });
    assert.equal(human.code, 0);
    assert.match(human.stdout, /^wrote .*config\.toml \(previous file kept as .*\.bak-.*\)\n$/);
  });
});
