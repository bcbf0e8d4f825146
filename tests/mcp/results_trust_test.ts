import assert from "node:assert/strict";
import { toResultOut, TRUST_NOTE } from "../../src/mcp/schemas.ts";

Deno.test("structured results carry the untrusted-claims note (clients show the model JSON, not text)", () => {
  const out = toResultOut({
    id: "t0123456789",
    state: "succeeded",
    profile: "query",
    runner: "claude",
    cwd: "/srv/app",
    started_at: null,
    finished_at: null,
    claims: { final_text: "done", session_id: null },
    evidence: null,
    error: null,
  }, "b");
  assert.equal(Object.keys(out)[0], "trust");
  assert.equal(out.trust, TRUST_NOTE);
  assert.match(out.trust, /UNTRUSTED/);
  assert.match(out.trust, /evidence was observed by the worker/);
});
