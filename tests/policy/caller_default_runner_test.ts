import assert from "node:assert/strict";
import { defaultRunnerFor } from "../../src/policy/caller.ts";

const caller = {
  node: "laptop",
  dnsName: "laptop.t.ts.net.",
  stableId: "n1",
  login: "a@x",
  tags: [],
  capMap: {},
};
const rule = (peers: string[], runners: string[]) => ({ peers, tags: [], logins: [], runners });

Deno.test("defaultRunnerFor picks the first installed runner a matching rule allows", () => {
  assert.equal(
    defaultRunnerFor(caller, [rule(["laptop"], ["demo"])], ["claude", "codex", "demo"]),
    "demo",
  );
  assert.equal(
    defaultRunnerFor(caller, [rule(["other"], ["codex"]), rule(["laptop"], ["x", "codex"])], [
      "claude",
      "codex",
    ]),
    "codex",
  );
  assert.equal(defaultRunnerFor(caller, [rule(["laptop"], ["x"])], ["claude"]), "claude");
  assert.equal(defaultRunnerFor(caller, [], []), "none");
});
