import assert from "node:assert/strict";
import { toResultOut, TRUST_NOTE } from "../../src/mcp/schemas.ts";
import { taskResult } from "../support/task_fixtures.ts";

Deno.test("structured results carry the untrusted-claims note (clients show the model JSON, not text)", () => {
  const out = toResultOut(taskResult(), "b");
  assert.equal(Object.keys(out)[0], "trust");
  assert.equal(out.trust, TRUST_NOTE);
  assert.match(out.trust, /UNTRUSTED/);
  assert.match(out.trust, /evidence was observed by the worker/);
});
