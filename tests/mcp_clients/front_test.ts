/**
 * @module
 * The test equipment of this directory, without any CLI: `tests/support/fake_model_front.ts`
 * (captures, codex's namespaced MCP calls and tool_search items) driven over HTTP with the
 * requesting agent's script, `mcp_client_requester.json`.
 */
import assert from "node:assert/strict";
import {
  captureValues,
  fillCaptures,
  normalizeResponsesRequest,
  rewriteOutputItem,
  splitMcpName,
  startFakeModelFront,
} from "../support/fake_model_front.ts";
import { TASK_ID_CAPTURE } from "./_world.ts";

const SCRIPT = new URL("../testdata/fake_model/mcp_client_requester.json", import.meta.url);

/** Parses an SSE body into its `data` objects. */
function sseData(text: string): Record<string, unknown>[] {
  return text.split("\n\n").filter((b) => b.trim() !== "").map((block) => {
    const data = block.split("\n").find((l) => l.startsWith("data: "));
    return JSON.parse(data!.slice(6));
  });
}

/** The output items of a Responses SSE answer (from `response.completed`). */
function outputItems(text: string): Record<string, unknown>[] {
  const done = sseData(text).find((e) => e.type === "response.completed") as {
    response: { output: Record<string, unknown>[] };
  };
  return done.response.output;
}

Deno.test("front: captures take group 1 of the newest match, escaped or not", () => {
  const re = new RegExp(TASK_ID_CAPTURE, "g");
  const body = JSON.stringify({
    tools: [{
      name: "cmesh_result",
      input_schema: { properties: { task_id: { type: "string" } } },
    }],
    messages: [
      { content: JSON.stringify({ task_id: "tfirst0001" }) },
      { content: `{"task_id":"tsecond002"}` },
    ],
  });
  assert.deepEqual(captureValues(body, { task_id: re }), { task_id: "tsecond002" });
  assert.deepEqual(captureValues("no ids here", { task_id: re }), {});
  assert.deepEqual(captureValues("id=7 id=9", { n: /id=(\d)/ }), { n: "9" }, "non-global too");
});

Deno.test("front: captured values are filled JSON-escaped; other placeholders stay", () => {
  const text = '{"a":"{{task_id}}","b":"{{last_tool_result}}","c":"{{x}}"}';
  const filled = fillCaptures(text, { task_id: "t123456789", x: 'say "hi"\n' });
  assert.deepEqual(JSON.parse(filled), {
    a: "t123456789",
    b: "{{last_tool_result}}",
    c: 'say "hi"\n',
  });
});

Deno.test("front: codex shapes for MCP calls and tool_search, both ways", () => {
  assert.deepEqual(splitMcpName("mcp__cmesh__cmesh_delegate"), {
    namespace: "mcp__cmesh",
    name: "cmesh_delegate",
  });
  assert.equal(splitMcpName("exec_command"), null);
  assert.equal(splitMcpName("mcp__cmesh"), null);
  const call = { type: "function_call", id: "fc_t1_0", call_id: "call_t1_0", status: "completed" };
  assert.deepEqual(
    rewriteOutputItem({ ...call, name: "mcp__cmesh__cmesh_result", arguments: "{}" }),
    { ...call, name: "cmesh_result", namespace: "mcp__cmesh", arguments: "{}" },
  );
  assert.deepEqual(
    rewriteOutputItem({ ...call, name: "tool_search", arguments: '{"query":"q","limit":8}' }),
    {
      id: "fc_t1_0",
      type: "tool_search_call",
      status: "completed",
      call_id: "call_t1_0",
      execution: "client",
      arguments: { query: "q", limit: 8 },
    },
  );
  const plain = { ...call, name: "exec_command", arguments: "{}" };
  assert.equal(rewriteOutputItem(plain), plain);
  assert.deepEqual(
    normalizeResponsesRequest({
      input: [
        { type: "message", role: "user", content: "go" },
        { type: "tool_search_call", id: "x", call_id: "call_t0_0", arguments: { query: "q" } },
        { type: "tool_search_output", call_id: "call_t0_0", tools: [{ name: "mcp__cmesh" }] },
      ],
    }),
    {
      input: [
        { type: "message", role: "user", content: "go" },
        {
          type: "function_call",
          id: "x",
          call_id: "call_t0_0",
          name: "tool_search",
          arguments: '{"query":"q"}',
          status: undefined,
        },
        { type: "function_call_output", call_id: "call_t0_0", output: '[{"name":"mcp__cmesh"}]' },
      ],
    },
  );
});

Deno.test({
  name: "front: the requester script over HTTP, as codex and as Claude Code would see it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const front = await startFakeModelFront({
      scriptFile: SCRIPT,
      vars: { peer: "server", cwd: "/srv/repo", runner: "claude", prompt: "Read notes.txt." },
      captures: { task_id: new RegExp(TASK_ID_CAPTURE, "g") },
    });
    try {
      const responses = async (input: unknown[]) => {
        const r = await fetch(`${front.url}/v1/responses`, {
          method: "POST",
          headers: { "content-type": "application/json", "accept-encoding": "gzip" },
          body: JSON.stringify({ model: "gpt-5.5", stream: true, input }),
        });
        assert.equal(r.headers.get("content-type"), "text/event-stream");
        return outputItems(await r.text());
      };
      const user = { type: "message", role: "user", content: "go" };
      const [search] = await responses([user]);
      assert.equal(search.type, "tool_search_call");
      assert.equal(search.execution, "client");
      const found = {
        type: "tool_search_output",
        call_id: search.call_id,
        status: "completed",
        execution: "client",
        tools: [{ type: "namespace", name: "mcp__cmesh", tools: [] }],
      };
      const [delegate] = await responses([user, search, found]);
      assert.deepEqual(
        [delegate.type, delegate.namespace, delegate.name],
        ["function_call", "mcp__cmesh", "cmesh_delegate"],
      );
      assert.deepEqual(JSON.parse(String(delegate.arguments)), {
        peer: "server",
        task: "Read notes.txt.",
        cwd: "/srv/repo",
        profile: "query",
        runner: "claude",
        timeout_s: 120,
        wait_seconds: 60,
      });
      const delegated = {
        type: "function_call_output",
        call_id: delegate.call_id,
        output: `Wall time: 1 seconds\nOutput:\n${JSON.stringify({ task_id: "tabcdef123" })}`,
      };
      const [result] = await responses([user, search, found, delegate, delegated]);
      assert.deepEqual([result.namespace, result.name], ["mcp__cmesh", "cmesh_result"]);
      assert.deepEqual(JSON.parse(String(result.arguments)), { task_id: "tabcdef123" });
      // The front logs what the client sent (tool_search items as they were).
      assert.equal(front.requests.length, 3);
      const sent = front.requests[1].body as { input: { type: string }[] };
      assert.deepEqual(sent.input.map((i) => i.type), [
        "message",
        "tool_search_call",
        "tool_search_output",
      ]);
      assert.deepEqual(front.requests[2].captured, { task_id: "tabcdef123" });
      // The fake server behind it saw the normalized pair and counted the turn.
      assert.deepEqual(front.backend.requestsFor("openai").map((r) => r.turn), [0, 1, 2]);

      // Claude Code's side: flat MCP tool names pass unchanged.
      const r = await fetch(`${front.url}/v1/messages?beta=true`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "m",
          stream: true,
          messages: [{ role: "user", content: "go" }],
        }),
      });
      const blocks = sseData(await r.text()).filter((e) => e.type === "content_block_start")
        .map((e) => e.content_block as { type: string; name: string });
      assert.deepEqual(blocks, [{
        type: "tool_use",
        id: "toolu_t0_0",
        name: "mcp__cmesh__cmesh_delegate",
        input: {},
      }]);
    } finally {
      await front.close();
    }
  },
});
