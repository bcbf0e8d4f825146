/** Error results: whose decision, what to do next, a machine-readable tag; never structured. */
import assert from "node:assert/strict";
import { errorResult, explainError, okResult } from "../../src/mcp/results.ts";

Deno.test("errorResult is isError text only, tagged with code and rule", () => {
  const r = errorResult({
    code: "denied",
    message: "cwd /etc is not allowed",
    rule: "outbound.cwd",
  });
  assert.equal(r.isError, true);
  assert.equal(r.structuredContent, undefined);
  const text = (r.content[0] as { text: string }).text;
  assert.match(
    text,
    /^Denied by your own outbound policy \(rule outbound\.cwd\), before anything was sent: cwd \/etc is not allowed/,
  );
  assert.match(text, /\n\[error denied, rule outbound\.cwd\]$/);
});

Deno.test("each error code says whose decision it was and what to do", () => {
  const cases: [string, RegExp][] = [
    [
      "peer_denied",
      /^Refused by box: this is box's own policy decision, quoted as it gave it \(peer rule inbound\.allow\[0\]\.cwd\):\nMSG\nCall cmesh_peers to see what box allows you/,
    ],
    [
      "peer_unreachable",
      /^Could not reach cmesh on box; the task did not start: MSG\nCall cmesh_peers/,
    ],
    ["peer_not_cmesh", /^Could not reach cmesh on box/],
    ["peer_busy", /^box is busy and did not take the task: MSG\nRetry later/],
    ["daemon_not_running", /^MSG\nThe MCP server itself is fine; the tools need that local daemon/],
    ["no_token", /^MSG\nThe MCP server itself is fine/],
    ["not_cmesh", /^MSG\nNothing was delegated\. Tell the user: the cmesh daemon's control port/],
    ["not_found", /^MSG\nCall cmesh_tasks to list recent task ids\.$/],
    ["invalid_request", /^The request was rejected as invalid: MSG$/],
    ["internal", /^cmesh failed \(internal\): MSG$/],
  ];
  for (const [code, re] of cases) {
    assert.match(
      explainError({ code, message: "MSG", rule: "inbound.allow[0].cwd" }, { peer: "box" }),
      re,
      code,
    );
  }
});

Deno.test("okResult carries text and structured content", () => {
  const r = okResult("hi", { a: 1 });
  assert.deepEqual(r, { content: [{ type: "text", text: "hi" }], structuredContent: { a: 1 } });
});
