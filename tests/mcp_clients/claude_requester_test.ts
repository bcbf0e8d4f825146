/**
 * @module
 * The real Claude Code (`claude -p`) as the **requesting** agent: `cmesh mcp` registered with
 * `--mcp-config`, a scripted model (behind `tests/support/fake_model_front.ts`) that calls
 * `mcp__cmesh__cmesh_delegate` (waiting for the task), then `mcp__cmesh__cmesh_result` with the
 * task id the first call returned, then answers with what the result said. The task runs on the
 * worker daemon (another network namespace when root) with the real **Codex** runner against the
 * worker's own fake model. See `_world.ts` for the machines, `docs/mcp-tools.md` ("Tested
 * clients") for the registration this test uses.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkAudits, checkResultPayload, checkWorkerModel, DELEGATION_TOOLS } from "./_checks.ts";
import type { ResultPayload } from "./_checks.ts";
import { CLI_PATHS, clientSkipReason, createClientWorld, type FrontLog } from "./_world.ts";

const SKIP = clientSkipReason("claude", "codex");
if (SKIP) console.warn(`tests/mcp_clients/claude_requester_test.ts SKIPPED: ${SKIP}`);

/** The exact `--allowedTools` the test passes: every MCP tool needs one in `-p` mode. */
const ALLOWED = "mcp__cmesh__cmesh_delegate,mcp__cmesh__cmesh_result";

interface ClaudeResult {
  is_error: boolean;
  result: string;
  num_turns: number;
  permission_denials: unknown[];
}

interface AnthropicBody {
  tools?: { name: string; description?: string; input_schema?: { required?: string[] } }[];
  messages?: { role: string; content: unknown }[];
}

/** The `tool_result` blocks of a Messages request, by tool_use id. */
function toolResults(body: AnthropicBody): Map<string, { content: unknown; is_error?: boolean }> {
  const out = new Map<string, { content: unknown; is_error?: boolean }>();
  for (const m of body.messages ?? []) {
    if (!Array.isArray(m.content)) continue;
    for (const b of m.content as Record<string, unknown>[]) {
      if (b.type === "tool_result") {
        out.set(String(b.tool_use_id), {
          content: b.content,
          is_error: b.is_error as boolean | undefined,
        });
      }
    }
  }
  return out;
}

Deno.test({
  name:
    "Claude Code requests over MCP: delegate → result → answer, task run by Codex on the worker",
  ignore: SKIP !== null,
  // The world's processes and pipes outlive single steps by design; destroy() cleans up.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const w = await createClientWorld({ workerRunner: "codex" });
    try {
      console.log(`  world: ${w.mode} mode`);
      const mcpConfig = join(w.base, "claude-mcp.json");
      await Deno.writeTextFile(
        mcpConfig,
        JSON.stringify({ mcpServers: { cmesh: { type: "stdio", ...w.mcpServer } } }, null, 2),
      );
      const run = await w.runClient([
        CLI_PATHS.claude!,
        "-p",
        "Ask the server machine what notes.txt in its repo says, using cmesh.",
        "--output-format",
        "json",
        "--mcp-config",
        mcpConfig,
        "--strict-mcp-config",
        "--allowedTools",
        ALLOWED,
      ], {
        ANTHROPIC_BASE_URL: w.requesterModel.url,
        ANTHROPIC_API_KEY: "sk-ant-fake",
        CLAUDE_CONFIG_DIR: w.clientState,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        CLAUDE_CODE_MAX_RETRIES: "0",
      });
      console.log(`  claude -p took ${run.wallMs} ms`);
      const diag = () =>
        `exit ${run.code}${run.timedOut ? " (timed out)" : ""}\nstdout: ${
          run.stdout.slice(0, 3000)
        }\nstderr: ${run.stderr.slice(-3000)}\nfront stderr: ${w.requesterModel.stderr()}`;
      const front = await w.requesterModel.requests<FrontLog[number]>();
      const main = front.filter((r) => r.method === "POST" && r.path.startsWith("/v1/messages"));
      let taskId = "";

      await t.step("claude -p ends well and answers with the worker's result", () => {
        assert.equal(run.code, 0, diag());
        const out = JSON.parse(run.stdout) as ClaudeResult;
        assert.equal(out.is_error, false, diag());
        assert.deepEqual(out.permission_denials, [], diag());
        assert.equal(out.num_turns, 3, diag());
        const m = /^The remote agent on server reported \(task (t[A-Za-z0-9_-]{7,63})\): /.exec(
          out.result,
        );
        assert.ok(m, `the scripted final answer: ${out.result.slice(0, 500)}`);
        taskId = m[1];
        assert.ok(out.result.includes(w.notes), "the answer carries what the worker's file says");
      });

      await t.step("protocol negotiation: the MCP tools are offered to the model", () => {
        assert.equal(main.length, 3, `model requests: ${main.map((r) => r.path)}`);
        const tools = (main[0].body as AnthropicBody).tools ?? [];
        const names = tools.map((x) => x.name);
        for (const tool of DELEGATION_TOOLS) {
          assert.ok(names.includes(`mcp__cmesh__${tool}`), `mcp__cmesh__${tool} in ${names}`);
        }
        const delegate = tools.find((x) => x.name === "mcp__cmesh__cmesh_delegate")!;
        assert.match(delegate.description ?? "", /UNTRUSTED claims/);
        assert.deepEqual(
          [...(delegate.input_schema?.required ?? [])].sort(),
          ["cwd", "peer", "task"],
        );
      });

      await t.step("the tool results Claude sent back: claims apart from evidence", () => {
        const last = toolResults(main[2].body as AnthropicBody);
        const delegated = last.get("toolu_t0_0");
        const result = last.get("toolu_t1_0");
        assert.ok(delegated && result, `tool results in the last request: ${[...last.keys()]}`);
        assert.notEqual(delegated.is_error, true, String(delegated.content));
        assert.notEqual(result.is_error, true, String(result.content));
        // Claude Code 2.1.197 gives the model the tool's structuredContent as JSON text (not
        // the text block with the <<<claims framing): the separation is the JSON's.
        assert.equal(typeof result.content, "string", JSON.stringify(result.content));
        const payload = JSON.parse(result.content as string) as ResultPayload;
        checkResultPayload(payload, w, taskId);
        const first = JSON.parse(delegated.content as string) as ResultPayload;
        assert.equal(first.task_id, taskId, "cmesh_delegate returned the id cmesh_result read");
        assert.equal(first.done, true, "cmesh_delegate waited until the task ended");
        assert.deepEqual(main[1].captured, { task_id: taskId }, "the id the front captured");
      });

      await t.step("the worker's real Codex runner did the work", () => checkWorkerModel(w));

      await t.step("both audit chains verify and hold the task", () => checkAudits(w, taskId));
    } finally {
      await w.destroy();
    }
  },
});
