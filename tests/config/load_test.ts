/**
 * @module
 * The loader: every invalid fixture in `tests/testdata/config/invalid/` must fail with exactly
 * the problems in its `.expected` sidecar (one per line), and file handling (missing,
 * unreadable) behaves as documented.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../../src/config/errors.ts";
import {
  crossFieldProblems,
  loadConfig,
  parseConfigText,
  validateConfig,
} from "../../src/config/load.ts";
import { Config } from "../../src/config/schema.ts";

/** Runs `fn`, which must throw a {@link ConfigError}, and returns the error. */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    return e;
  }
  assert.fail("expected a ConfigError, but the config was accepted");
}

const INVALID_DIR = new URL("../testdata/config/invalid/", import.meta.url);

/** Every `<name>.toml` in the invalid folder with its expected problems. */
function invalidFixtures(): { name: string; toml: string; expected: string[] }[] {
  const names = [...Deno.readDirSync(INVALID_DIR)].map((e) => e.name).sort();
  const tomls = names.filter((n) => n.endsWith(".toml"));
  const sidecars = names.filter((n) => n.endsWith(".expected"));
  assert.deepEqual(
    sidecars.map((n) => n.replace(/\.expected$/, "")),
    tomls.map((n) => n.replace(/\.toml$/, "")),
    "every invalid fixture needs a .expected sidecar and every sidecar a fixture",
  );
  return tomls.map((name) => ({
    name,
    toml: Deno.readTextFileSync(new URL(name, INVALID_DIR)),
    expected: Deno.readTextFileSync(new URL(name.replace(/\.toml$/, ".expected"), INVALID_DIR))
      .split("\n").filter((l) => l !== ""),
  }));
}

Deno.test("invalid fixtures: the folder covers every error class", () => {
  const names = invalidFixtures().map((f) => f.name);
  assert.ok(names.length >= 25, `only ${names.length} fixtures`);
  for (
    const required of [
      "unknown_key_top",
      "unknown_key_nested",
      "unknown_key_in_array_table",
      "wrong_type_boolean",
      "relative_cwd",
      "bad_tag",
      "port_too_high",
      "toml_syntax_error",
      "profile_not_enabled",
      "unknown_profile_inbound",
      "rule_matches_nobody",
      "duplicate_outbound_peer",
      "default_timeout_above_max",
      "control_port_equals_worker_port",
    ]
  ) assert.ok(names.includes(`${required}.toml`), `missing fixture ${required}.toml`);
});

for (const fixture of invalidFixtures()) {
  Deno.test(`invalid fixture ${fixture.name} fails with its expected message`, () => {
    assert.ok(fixture.expected.length > 0, "the sidecar must name at least one problem");
    const err = configErrorOf(() => parseConfigText(fixture.toml, fixture.name));
    assert.deepEqual(err.problems, fixture.expected);
  });
}

Deno.test("the relative-cwd message is exact", () => {
  const text = [
    "[[inbound.allow]]",
    'peers = ["a"]',
    'cwd = ["/srv"]',
    "[[inbound.allow]]",
    'peers = ["b"]',
    'cwd = ["srv/app"]',
  ].join("\n");
  assert.deepEqual(configErrorOf(() => parseConfigText(text, "c.toml")).problems, [
    'inbound.allow[1].cwd[0]: must be an absolute path, got "srv/app"',
  ]);
});

Deno.test("a ConfigError names the file and lists each problem", () => {
  const e = configErrorOf(() =>
    parseConfigText("bogus = 1\n[daemon]\nworker_port = 0\n", "/etc/cmesh/config.toml")
  );
  assert.equal(e.file, "/etc/cmesh/config.toml");
  assert.equal(
    e.message,
    "/etc/cmesh/config.toml: invalid configuration\n" +
      "  - daemon.worker_port: must be a port number from 1 to 65535, got 0\n" +
      "  - bogus: unknown key (check the spelling; see docs/configuration.md)",
  );
});

Deno.test("TOML syntax errors give line and column", () => {
  const err = configErrorOf(() =>
    parseConfigText('[daemon]\nlog_level = "info"\nworker_port = = 1\n', "c.toml")
  );
  assert.equal(err.problems.length, 1);
  assert.match(err.problems[0], /^line 3, column \d+: TOML syntax error: /);
});

Deno.test("cross-field checks pass on the defaults", () => {
  assert.deepEqual(crossFieldProblems(Config.parse({})), []);
});

Deno.test("cross-field checks run only after the schema passes", () => {
  // A schema problem and a cross-field problem: only the schema one is reported, since the
  // cross-field rules need a well-typed config.
  const err = configErrorOf(() =>
    validateConfig({ daemon: { control_port: 7433, log_level: "loud" } }, "c.toml")
  );
  assert.equal(err.problems.length, 1);
  assert.match(err.problems[0], /^daemon\.log_level: /);
});

Deno.test("a worker_port equal to the default control_port is caught too", () => {
  const err = configErrorOf(() => validateConfig({ daemon: { worker_port: 7434 } }, "c.toml"));
  assert.deepEqual(err.problems, [
    "daemon.control_port: must differ from daemon.worker_port (7434)",
  ]);
});

Deno.test("a custom profile that is enabled may be used by a rule", () => {
  const cfg = parseConfigText(
    [
      "[profiles.review]",
      "enabled = true",
      "[[inbound.allow]]",
      'logins = ["ann@example.com"]',
      'cwd = ["/srv"]',
      'profiles = ["review"]',
    ].join("\n"),
    "c.toml",
  );
  assert.deepEqual(cfg.inbound.allow[0].profiles, ["review"]);
});

Deno.test("an outbound peer may ask for a profile that is off locally", () => {
  // profiles.* switches govern what this machine accepts (inbound); what a remote accepts is
  // its own business, so asking it for `build` is fine here.
  const cfg = parseConfigText('[[outbound.peers]]\nname = "b"\nprofiles = ["build"]\n', "c");
  assert.deepEqual(cfg.outbound.peers[0].profiles, ["build"]);
});

Deno.test("loadConfig: a missing file means defaults, exists=false", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "nope", "config.toml");
    const loaded = await loadConfig(file);
    assert.equal(loaded.exists, false);
    assert.equal(loaded.file, file);
    assert.deepEqual(loaded.config, Config.parse({}));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig: reads and validates a present file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "config.toml");
    await Deno.writeTextFile(file, "[inbound]\nmax_queue = 3\n");
    const loaded = await loadConfig(file);
    assert.equal(loaded.exists, true);
    assert.equal(loaded.config.inbound.max_queue, 3);
    await Deno.writeTextFile(file, "[inbound]\nmax_queue = -1\n");
    await assert.rejects(() => loadConfig(file), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.file, file);
      assert.match(e.problems[0], /^inbound\.max_queue: /);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig: an unreadable path (a directory) is a located error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "config.toml");
    await Deno.mkdir(file);
    await assert.rejects(() => loadConfig(file), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.file, file);
      assert.equal(e.problems.length, 1);
      assert.match(e.problems[0], /^cannot read: /);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "loadConfig: a file without read permission is a located error",
  // root reads anything; Windows has no chmod.
  ignore: Deno.build.os === "windows" || Deno.uid() === 0,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const file = join(dir, "config.toml");
      await Deno.writeTextFile(file, "");
      await Deno.chmod(file, 0o000);
      await assert.rejects(() => loadConfig(file), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.problems[0], /^cannot read: .*[Pp]ermission denied/);
        return true;
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
