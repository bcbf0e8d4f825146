/**
 * @module
 * The README's promises a newcomer acts on first: the two set-up commands are there verbatim
 * and name tasks that exist in deno.json, with the Deno version CI uses; the install lines name
 * the installers in scripts/; the handoff is a numbered list.
 */
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url);
const readme = Deno.readTextFileSync(new URL("README.md", root));
const denoJson = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root))) as {
  tasks: Record<string, string>;
};
const ciRun = Deno.readTextFileSync(new URL(".ci/run", root));

Deno.test("README: the demo and test commands, verbatim, for tasks that exist", () => {
  for (const task of ["demo", "test"]) {
    assert.ok(readme.includes(`npx -y deno@2.9.6 task ${task}`), `README lacks the ${task} line`);
    assert.ok(denoJson.tasks[task], `deno.json has no '${task}' task`);
  }
  const pinned = /^DENO_VERSION=(\S+)$/m.exec(ciRun)?.[1];
  assert.equal(pinned, "2.9.6", "the README's Deno version is the one CI uses");
});

Deno.test("README: install lines name the installers that exist", () => {
  for (const script of ["install.sh", "install.ps1"]) {
    assert.ok(readme.includes(`<release-url>/${script}`), `README lacks ${script}`);
    Deno.statSync(new URL(`scripts/${script}`, root));
  }
});

Deno.test("README: 'help me set up cmesh' and a numbered handoff flow", () => {
  assert.match(readme, /help me set up cmesh/i);
  const handoff = readme.slice(readme.indexOf("## How a handoff works"));
  assert.ok(handoff.length > 0);
  const steps = [...handoff.split("\n## ")[0].matchAll(/^(\d+)\. /gm)].map((m) => Number(m[1]));
  assert.ok(steps.length >= 5, `only ${steps.length} numbered steps`);
  assert.deepEqual(steps, steps.map((_, i) => i + 1), "steps numbered 1, 2, 3, …");
});
