import assert from "node:assert/strict";
import { callerIdentity } from "../../src/worker/guards/caller_identity.ts";
import { Hono } from "hono";
import type { WorkerEnv } from "../../src/worker/env.ts";

Deno.test("identity refusals (self, expired, shared-in) are 403 identity.refused, not 503", async () => {
  const denied: string[] = [];
  const app = new Hono<WorkerEnv>();
  app.use("*", async (c, next) => {
    c.set("sourceIp", "100.64.0.1");
    c.set("sourcePort", 5000);
    await next();
  });
  app.use(
    "*",
    callerIdentity(
      {
        whois: () =>
          Promise.resolve({
            ok: false,
            code: "refused",
            reason: "the caller is this node itself (server)",
          }),
      },
      { auditDenied: (i) => void denied.push(i.rule) },
    ),
  );
  app.get("/", (c) => c.text("ok"));
  const res = await app.request("/");
  assert.equal(res.status, 403);
  const body = await res.json();
  assert.equal(body.error.rule, "identity.refused");
  assert.match(body.error.message, /this node itself/);
  assert.deepEqual(denied, ["identity.refused"]);
});
