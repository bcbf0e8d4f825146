/**
 * @module
 * `cmesh version` and `cmesh --version`, through the real entry point.
 */
import assert from "node:assert/strict";
import { PROTOCOL, VERSION } from "../../../src/version.ts";
import { jsonOf, runCmesh, withHome } from "../cli_harness.ts";

Deno.test("version prints 'cmesh <version>', exit 0", async () => {
  await withHome(async (home) => {
    const r = await runCmesh(["version"], { home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `cmesh ${VERSION}\n`);
    assert.equal(r.cmeshStderr.trim(), "");
  });
});

Deno.test("--version and -V print the bare version, exit 0", async () => {
  await withHome(async (home) => {
    for (const flag of ["--version", "-V"]) {
      const r = await runCmesh([flag], { home });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${VERSION}\n`, flag);
    }
  });
});

Deno.test("version --json: {name, version, protocol, deno}", async () => {
  await withHome(async (home) => {
    const r = await runCmesh(["version", "--json"], { home });
    assert.equal(r.code, 0, r.stderr);
    const body = jsonOf(r);
    assert.deepEqual(Object.keys(body), ["name", "version", "protocol", "deno"]);
    assert.equal(body.name, "cmesh");
    assert.equal(body.version, VERSION);
    assert.equal(body.protocol, PROTOCOL);
    assert.equal(body.deno, Deno.version.deno);
  });
});

Deno.test("version works without any config, even an invalid one", async () => {
  await withHome(async (home) => {
    await Deno.writeTextFile(`${home}/config.toml`, "this is not toml");
    const r = await runCmesh(["version"], { home });
    assert.equal(r.code, 0, r.stderr);
  });
});
