import assert from "node:assert/strict";
import { describePeerFailure } from "../../src/delegation/follower.ts";
import { quoteRule } from "../../src/protocol/rules.ts";

Deno.test("a peer's policy refusal is stored as denied, verbatim and labelled as the peer's", () => {
  const d = describePeerFailure("buildbox", {
    kind: "refused",
    status: 403,
    code: "denied",
    message: "cwd /etc is outside the allowed roots for laptop: /srv/app",
    rule: quoteRule("inbound.allow[0].cwd"),
  });
  assert.equal(d.kind, "denied_by_peer");
  assert.equal(d.state, "denied");
  assert.equal(d.rule, "inbound.allow[0].cwd");
  assert.equal(
    d.message,
    'buildbox refused the task [peer rule inbound.allow[0].cwd]: "cwd /etc is outside the allowed roots for laptop: /srv/app" (this is buildbox\'s own reason)',
  );
});

Deno.test("busy peers carry the retry advice; identity failures count as denials", () => {
  const busy = describePeerFailure("b", {
    kind: "refused",
    status: 429,
    code: "queue_full",
    message: "busy",
    retryAfterS: 30,
  });
  assert.equal(busy.kind, "busy");
  assert.equal(busy.state, "failed");
  assert.match(busy.message, /retry in about 30s$/);
  const who = describePeerFailure("b", {
    kind: "refused",
    status: 503,
    code: "identity_unavailable",
    message: "x",
  });
  assert.equal(who.state, "denied");
  const bad = describePeerFailure("b", {
    kind: "refused",
    status: 400,
    code: "invalid_request",
    message: "x",
  });
  assert.equal(bad.kind, "invalid");
});

Deno.test("transport failures keep their own message", () => {
  const off = describePeerFailure("b", {
    kind: "unreachable",
    message: "b did not answer in time",
  });
  assert.deepEqual(off, {
    kind: "unreachable",
    state: "failed",
    message: "b did not answer in time",
  });
  assert.equal(describePeerFailure("b", { kind: "not_cmesh", message: "m" }).kind, "not_cmesh");
});

Deno.test("a peer's temporary 503 (e.g. full disk) is a failed, retryable task, not a denial", () => {
  const d = describePeerFailure("b", {
    kind: "refused",
    status: 503,
    code: "storage_unavailable",
    message: "disk full",
  });
  assert.equal(d.kind, "busy");
  assert.equal(d.state, "failed");
});
