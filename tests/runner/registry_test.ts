/**
 * @module
 * The runner registry: built-ins plus custom manifests from a directory, with name clashes
 * refused unless explicitly allowed.
 */
import assert from "node:assert/strict";
import { loadRunnerRegistry } from "../../src/runner/registry.ts";
import { builtinManifests } from "../../src/runner/builtin/mod.ts";
import { setupError } from "./_setup_error.ts";

const manifest = (name: string, binary = "agent") =>
  `name = "${name}"\nbinary = "${binary}"\nprompt = { via = "stdin" }\noutput = "text"\n[profiles.query]\nargs = []\n`;

async function withDir(files: Record<string, string>, fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "cmesh-runners-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("built-ins only: claude, codex, demo", async () => {
  const reg = await loadRunnerRegistry({ builtins: builtinManifests() });
  assert.deepEqual([...reg.keys()], ["claude", "codex", "demo"]);
});

Deno.test("a missing custom dir means no custom runners", async () => {
  const reg = await loadRunnerRegistry({
    builtins: builtinManifests(),
    customDir: "/nonexistent/cmesh/runners",
  });
  assert.equal(reg.size, 3);
});

Deno.test("custom TOML and JSON manifests are added; other files ignored", async () => {
  await withDir({
    "aider.toml": manifest("aider"),
    "local.json": JSON.stringify({
      name: "local",
      binary: "/opt/local/agent",
      prompt: { via: "stdin" },
      output: "text",
      profiles: { query: { args: [] } },
    }),
    "README.md": "not a manifest",
  }, async (dir) => {
    const reg = await loadRunnerRegistry({ builtins: builtinManifests(), customDir: dir });
    assert.deepEqual([...reg.keys()], ["claude", "codex", "demo", "aider", "local"]);
    assert.equal(reg.get("local")?.binary, "/opt/local/agent");
  });
});

Deno.test("a custom manifest named like a built-in is an error", async () => {
  await withDir({ "claude.toml": manifest("claude", "/opt/claude") }, async (dir) => {
    const err = await setupError(
      loadRunnerRegistry({ builtins: builtinManifests(), customDir: dir }),
    );
    assert.equal(err.code, "runner_name_clash");
    assert.match(
      err.message,
      /claude\.toml: defines 'claude', which is a built-in runner; give the custom runner another name/,
    );
  });
});

Deno.test("...unless the override is explicitly allowed", async () => {
  await withDir({ "claude.toml": manifest("claude", "/opt/claude") }, async (dir) => {
    const reg = await loadRunnerRegistry({
      builtins: builtinManifests(),
      customDir: dir,
      overrides: ["claude"],
    });
    assert.equal(reg.get("claude")?.binary, "/opt/claude");
    assert.equal(reg.get("claude")?.output, "text");
  });
});

Deno.test("file name must match the manifest name", async () => {
  await withDir({ "helper.toml": manifest("other") }, async (dir) => {
    const err = await setupError(loadRunnerRegistry({ builtins: [], customDir: dir }));
    assert.equal(err.code, "runner_manifest_invalid");
    assert.match(
      err.message,
      /helper\.toml: declares name 'other' but the file is named 'helper\.toml'/,
    );
  });
});

Deno.test("two files defining one runner clash", async () => {
  await withDir(
    { "x.toml": manifest("x"), "x.json": JSON.stringify({ name: "x" }) },
    async (dir) => {
      const err = await setupError(loadRunnerRegistry({ builtins: [], customDir: dir }));
      // x.json sorts first and is invalid on its own; a valid pair is checked below.
      assert.equal(err.code, "runner_manifest_invalid");
    },
  );
  const json = JSON.stringify({
    name: "x",
    binary: "a",
    prompt: { via: "stdin" },
    output: "text",
    profiles: { query: { args: [] } },
  });
  await withDir({ "x.toml": manifest("x"), "x.json": json }, async (dir) => {
    const err = await setupError(loadRunnerRegistry({ builtins: [], customDir: dir }));
    assert.equal(err.code, "runner_name_clash");
    assert.match(err.message, /x\.toml: runner 'x' is already defined by .*x\.json/);
  });
});

Deno.test("an invalid custom manifest fails the load, naming the file and key", async () => {
  await withDir(
    { "bad.toml": manifest("bad").replace('output = "text"', 'output = "xml"') },
    async (dir) => {
      const err = await setupError(loadRunnerRegistry({ builtins: [], customDir: dir }));
      assert.match(err.message, /bad\.toml: output: expected one of/);
    },
  );
});

Deno.test("duplicate built-ins are refused", async () => {
  const [claude] = builtinManifests();
  const err = await setupError(loadRunnerRegistry({ builtins: [claude, claude] }));
  assert.equal(err.code, "runner_name_clash");
});
