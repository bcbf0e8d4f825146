import assert from "node:assert/strict";
import { runCmesh } from "../support/daemon.ts";

Deno.test("cmesh demo runs a full local delegation and verifies both audit chains", async () => {
  const r = await runCmesh(["demo"], {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/tmp",
  });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const out = r.stdout;
  for (
    const section of [
      "1. The task",
      "2. Delegation",
      "3. Progress",
      "4. Result",
      "5. What gets refused",
      "6. Audit trails",
    ]
  ) {
    assert.ok(out.includes(section), `missing section ${section}`);
  }
  assert.match(out, /Claims \(what the remote agent says; untrusted[;)]/);
  assert.match(out, /Evidence \(observed by the worker\)/);
  assert.match(out, /cwd \/etc → denied: .*outbound\.peers\[0\]/);
  assert.match(out, /profile edit → denied/);
  assert.match(out, /peer_denied: server refused the task \[peer rule inbound\.allow\[0\]\.cwd\]/);
  assert.equal(out.match(/chain verifies/g)?.length, 2);
  assert.match(out, /task\.decision allow \[inbound\.allow\[0\]\]/);
  assert.match(out, /demo complete/);
});
