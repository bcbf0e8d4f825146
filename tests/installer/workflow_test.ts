/**
 * The release workflow is where the real compile and its smoke run happen (docs/release.md);
 * it cannot run here, so its text is checked: the compile uses the downloaded denort (no
 * DENORT_BIN), and the smoke jobs install the version the build read from src/version.ts (a
 * made-up version would be refused by the installers' `version --json` check).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../support/daemon.ts";

const WORKFLOW = await Deno.readTextFile(join(REPO_ROOT, ".github", "workflows", "release.yml"));

Deno.test("release.yml compiles with the real denort and runs the builds it publishes", () => {
  assert.doesNotMatch(
    WORKFLOW,
    /^\s+DENORT_BIN:|DENORT_BIN=/m,
    "no DENORT_BIN override in the release",
  );
  assert.match(WORKFLOW, /run: deno task compile\n/);
  assert.match(WORKFLOW, /version: \$\{\{ steps\.version\.outputs\.version \}\}/);
  assert.equal(
    WORKFLOW.match(/CMESH_VERSION: \$\{\{ needs\.build\.outputs\.version \}\}/g)?.length,
    2,
    "both smoke installers ask for the built version",
  );
  assert.match(
    WORKFLOW,
    /path: site\/releases\/download\/v\$\{\{ needs\.build\.outputs\.version \}\}/,
  );
  assert.doesNotMatch(WORKFLOW, /0\.0\.0-smoke/);
  assert.match(WORKFLOW, /d\["name"\] == "cmesh"/);
  assert.match(WORKFLOW, /\$v\.name -ne 'cmesh'/);
});
