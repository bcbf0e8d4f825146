/**
 * @module
 * The fake model server itself (no CLI needed): stateless turn selection from the tool call ids
 * in the history, placeholders, both SSE dialects, scripted errors and hangs, the request log.
 */
import assert from "node:assert/strict";
import { startFakeModel } from "../support/fake_model/server.ts";
import { loadScriptFile, turnIndexFromIds, validateScript } from "../support/fake_model/script.ts";

/** Parses an SSE body into its `data` objects. */
function sseData(text: string): Record<string, unknown>[] {
  return text.split("\n\n").filter((b) => b.trim() !== "").map((block) => {
    const data = block.split("\n").find((l) => l.startsWith("data: "));
    return JSON.parse(data!.slice(6));
  });
}

Deno.test("fake model: every script in testdata/fake_model is valid", async () => {
  const dir = new URL("../testdata/fake_model/", import.meta.url);
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".json")) continue;
    await loadScriptFile(new URL(e.name, dir));
    n++;
  }
  assert.ok(n >= 5);
  assert.throws(() => validateScript({ turns: [{ txt: "typo" }] }), /turns\[0\]\.txt: unknown/);
});

Deno.test("fake model: turn index from tagged ids, else the counted turns", () => {
  assert.equal(turnIndexFromIds([], 0), 0);
  assert.equal(turnIndexFromIds(["toolu_t0_0", "toolu_t1_1"], 2), 2);
  assert.equal(turnIndexFromIds(["call_t3_0"], 1), 4);
  assert.equal(turnIndexFromIds(["foreign-id"], 1), 1);
});

Deno.test("fake model: Anthropic SSE tool turn, then the answer quotes the tool result", async () => {
  const fake = await startFakeModel({
    script: {
      turns: [
        { tool_calls: [{ name: "Read", input: { file_path: "{{workdir}}/n.txt" } }] },
        { text: "got: {{last_tool_result}}", input_tokens: 7, output_tokens: 3 },
      ],
    },
    vars: { workdir: "/w" },
  });
  try {
    const post = (messages: unknown[]) =>
      fetch(`${fake.url}/v1/messages?beta=true`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": "secret-key" },
        body: JSON.stringify({ model: "m", stream: true, tools: [{ name: "Read" }], messages }),
      });
    const r1 = await post([{ role: "user", content: "go" }]);
    assert.equal(r1.headers.get("content-type"), "text/event-stream");
    const e1 = sseData(await r1.text());
    assert.deepEqual(e1.map((e) => e.type), [
      "message_start",
      "ping",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    const block = e1[2].content_block as { id: string; name: string };
    assert.equal(block.name, "Read");
    assert.equal(block.id, "toolu_t0_0");
    assert.deepEqual(
      JSON.parse((e1[3].delta as { partial_json: string }).partial_json),
      { file_path: "/w/n.txt" },
    );
    assert.equal((e1[5].delta as { stop_reason: string }).stop_reason, "tool_use");

    const r2 = await post([
      { role: "user", content: "go" },
      { role: "assistant", content: [{ type: "tool_use", id: block.id, name: "Read", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: block.id, content: "42" }] },
    ]);
    const e2 = sseData(await r2.text());
    assert.equal((e2[3].delta as { text: string }).text, "got: 42");
    assert.deepEqual(e2[5].usage, { output_tokens: 3 });

    assert.deepEqual(fake.requests.map((r) => [r.api, r.turn, r.status]), [
      ["anthropic", 0, 200],
      ["anthropic", 1, 200],
    ]);
    assert.equal(fake.requests[0].headers["x-api-key"], "[redacted]");
    assert.equal(fake.requests[0].auth, "x-api-key");
    assert.equal(fake.requests[0].path, "/v1/messages?beta=true");
  } finally {
    await fake.close();
  }
});

Deno.test("fake model: Responses SSE with function and custom tool calls", async () => {
  const fake = await startFakeModel({
    script: {
      openai: {
        turns: [
          {
            tool_calls: [
              { name: "exec_command", input: { cmd: "cat n.txt" } },
              { name: "apply_patch", type: "custom", input: "*** Begin Patch\n*** End Patch\n" },
            ],
          },
          { text: "all: {{tool_results}}" },
        ],
      },
    },
  });
  try {
    const post = (input: unknown[]) =>
      fetch(`${fake.url}/v1/responses`, {
        method: "POST",
        headers: { authorization: "Bearer k" },
        body: JSON.stringify({ model: "gpt-5.5", stream: true, input }),
      });
    const e1 = sseData(await (await post([{ type: "message", role: "user", content: [] }])).text());
    const done = e1.filter((e) => e.type === "response.output_item.done").map((e) =>
      e.item as Record<string, string>
    );
    assert.deepEqual(done.map((i) => [i.type, i.name, i.call_id]), [
      ["function_call", "exec_command", "call_t0_0"],
      ["custom_tool_call", "apply_patch", "call_t0_1"],
    ]);
    assert.deepEqual(JSON.parse(done[0].arguments), { cmd: "cat n.txt" });
    assert.equal(e1.at(-1)?.type, "response.completed");

    const e2 = sseData(
      await (await post([
        { type: "message", role: "user", content: [] },
        { type: "function_call", call_id: "call_t0_0", name: "exec_command", arguments: "{}" },
        { type: "function_call_output", call_id: "call_t0_0", output: "A" },
        { type: "custom_tool_call", call_id: "call_t0_1", name: "apply_patch", input: "" },
        { type: "custom_tool_call_output", call_id: "call_t0_1", output: "B" },
      ])).text(),
    );
    const delta = e2.find((e) => e.type === "response.output_text.delta");
    assert.equal(delta?.delta, "all: A\n---\nB");
    assert.deepEqual(fake.requestsFor("openai").map((r) => r.turn), [0, 1]);
    assert.equal(fake.requests[0].auth, "bearer");
  } finally {
    await fake.close();
  }
});

Deno.test("fake model: scripted errors, hangs released on close, 404s logged", async () => {
  const fake = await startFakeModel({
    script: {
      anthropic: { turns: [{ http_status: 500 }] },
      openai: { turns: [{ hang: true }] },
    },
  });
  const r = await fetch(`${fake.url}/v1/messages`, { method: "POST", body: "{}" });
  assert.equal(r.status, 500);
  assert.deepEqual(await r.json(), {
    type: "error",
    error: { type: "api_error", message: "scripted error 500" },
  });
  const nf = await fetch(`${fake.url}/nope`);
  assert.equal(nf.status, 404);
  await nf.body?.cancel();
  const hanging = fetch(`${fake.url}/v1/responses`, { method: "POST", body: "{}" });
  const logged = await fake.waitFor((q) => q.api === "openai", 5000);
  assert.equal(logged.status, null, "still hanging");
  let settled = false;
  hanging.then(() => settled = true, () => settled = true);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(settled, false, "a hang does not answer");
  await fake.close();
  const released = await hanging;
  assert.equal(released.status, 503);
  await released.body?.cancel();
  assert.deepEqual(fake.requests.map((q) => q.status), [500, 404, 503]);
});
