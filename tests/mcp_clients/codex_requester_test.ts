/**
 * @module
 * The real Codex CLI (`codex exec`) as the **requesting** agent: `cmesh mcp` registered in
 * `$CODEX_HOME/config.toml` (`[mcp_servers.cmesh]`, with `approval_mode = "approve"` for
 * `cmesh_delegate`, without which `codex exec` refuses the call), a scripted model (behind
 * `tests/support/fake_model_front.ts`) that first finds the deferred MCP tools with codex's
 * `tool_search` (as a real `gpt-5.5` does), then calls `cmesh_delegate` (namespace `mcp__cmesh`,
 * waiting for the task), `cmesh_result` with the returned task id, and answers with the result.
 * The task runs on the worker daemon (another network namespace when root) with the real
 * **Claude Code** runner against the worker's own fake model.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkAudits, checkResultPayload, checkWorkerModel, DELEGATION_TOOLS } from "./_checks.ts";
import type { ResultPayload } from "./_checks.ts";
import { fakeModelRunners } from "../runners_real/harness.ts";
import { CLI_PATHS, clientSkipReason, createClientWorld, type FrontLog } from "./_world.ts";
import { setTomlServer } from "../../src/setup/agents/edit.ts";
import { MCP_SERVER_NAME } from "../../src/setup/agents/register.ts";
import { entryFor } from "../../src/setup/agents/targets.ts";

const SKIP = clientSkipReason("codex", "claude");
if (SKIP) console.warn(`tests/mcp_clients/codex_requester_test.ts SKIPPED: ${SKIP}`);

const q = JSON.stringify;

/**
 * `$CODEX_HOME/config.toml` as `cmesh install-mcp --agent codex` writes it (its entry: the
 * timeouts, and `approval_mode = "approve"` for cmesh_delegate/cmesh_cancel, without which
 * `codex exec`, approval policy "never", refuses the call).
 */
function codexConfig(mcp: { command: string; args: string[]; env: Record<string, string> }) {
  return setTomlServer(null, MCP_SERVER_NAME, entryFor("codex", mcp)).text;
}

interface ResponsesBody {
  tools?: { type: string; name?: string }[];
  input?: Record<string, unknown>[];
}

interface CodexEvent {
  type: string;
  item?: {
    type: string;
    server?: string;
    tool?: string;
    status?: string;
    text?: string;
    arguments?: Record<string, unknown>;
    result?: { content?: { type: string; text?: string }[] } | null;
  };
}

/** The JSON a codex `function_call_output` carries: "Wall time: …\nOutput:\n{…}". */
function outputJson(output: unknown): ResultPayload {
  assert.equal(typeof output, "string", `function_call_output: ${q(output).slice(0, 500)}`);
  const text = output as string;
  const at = text.indexOf("Output:\n");
  assert.ok(at >= 0, `codex's output framing: ${text.slice(0, 300)}`);
  return JSON.parse(text.slice(at + "Output:\n".length)) as ResultPayload;
}

Deno.test({
  name: "Codex requests over MCP: tool_search → delegate → result → answer, task run by Claude",
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const w = await createClientWorld({ workerRunner: "claude" });
    try {
      console.log(`  world: ${w.mode} mode`);
      await Deno.writeTextFile(join(w.clientState, "config.toml"), codexConfig(w.mcpServer));
      const fake = fakeModelRunners(w.requesterModel.url).codex!;
      const run = await w.runClient([
        CLI_PATHS.codex!,
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--disable",
        "plugins",
        "-c",
        "analytics.enabled=false",
        ...fake.args!,
        "--sandbox",
        "read-only",
        "Ask the server machine what notes.txt in its repo says, using cmesh.",
      ], { CODEX_HOME: w.clientState, ...fake.env });
      console.log(`  codex exec took ${run.wallMs} ms`);
      const diag = () =>
        `exit ${run.code}${run.timedOut ? " (timed out)" : ""}\nstdout: ${
          run.stdout.slice(0, 4000)
        }\nstderr: ${run.stderr.slice(-3000)}\nfront stderr: ${w.requesterModel.stderr()}`;
      const events = run.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) =>
        JSON.parse(l) as CodexEvent
      );
      const front = await w.requesterModel.requests<FrontLog[number]>();
      const main = front.filter((r) => r.method === "POST" && r.path.endsWith("/responses"));
      let taskId = "";

      await t.step("codex exec ends well and answers with the worker's result", () => {
        assert.equal(run.code, 0, diag());
        assert.ok(events.some((e) => e.type === "turn.completed"), diag());
        const calls = events.filter((e) =>
          e.type === "item.completed" && e.item?.type === "mcp_tool_call"
        ).map((e) => e.item!);
        assert.deepEqual(
          calls.map((c) => `${c.server}/${c.tool}: ${c.status}`),
          ["cmesh/cmesh_delegate: completed", "cmesh/cmesh_result: completed"],
          diag(),
        );
        taskId = String(calls[1].arguments?.task_id);
        assert.match(taskId, /^t[A-Za-z0-9_-]{7,63}$/);
        // What codex shows its user for the call is the text block, with the claims framing.
        const shown = calls[1].result?.content?.map((c) => c.text ?? "").join("\n") ?? "";
        assert.match(shown, /Claims \(UNTRUSTED: what the remote agent on server says/);
        assert.ok(
          /\n<<<claims-[0-9a-f]{12}\n/.test(shown) && shown.includes(w.notes),
          shown.slice(0, 800),
        );
        const answer = events.filter((e) => e.item?.type === "agent_message").at(-1)?.item?.text ??
          "";
        assert.ok(answer.startsWith(`The remote agent on server reported (task ${taskId}): `));
        assert.ok(answer.includes(w.notes), "the answer carries what the worker's file says");
      });

      await t.step("protocol negotiation: the MCP tools reach the model via tool_search", () => {
        assert.equal(main.length, 4, `model requests: ${main.length}`);
        const first = main[0].body as ResponsesBody;
        const offered = (first.tools ?? []).map((x) => x.name ?? x.type);
        assert.ok(offered.includes("tool_search"), `tool_search offered: ${offered}`);
        assert.ok(
          !offered.some((n) => n.includes("cmesh")),
          `gpt-5.5: MCP tools are deferred, not offered up front: ${offered}`,
        );
        const second = (main[1].body as ResponsesBody).input ?? [];
        const found = second.find((i) => i.type === "tool_search_output") as
          | { tools: { type: string; name: string; tools: { name: string }[] }[] }
          | undefined;
        assert.ok(found, `a tool_search_output in ${second.map((i) => i.type)}`);
        const ns = found.tools.find((x) => x.type === "namespace" && x.name === "mcp__cmesh");
        assert.ok(ns, `namespace mcp__cmesh in ${q(found.tools).slice(0, 500)}`);
        // BM25 over the tools' metadata, 8 hits: cmesh_delegate must rank for the plain ask.
        const names = ns.tools.map((x) => x.name);
        assert.ok(
          names.includes("cmesh_delegate"),
          `cmesh_delegate found by tool_search: ${names}`,
        );
        assert.ok(names.length <= 8, `at most the 8 hits asked for: ${names}`);
        for (const n of names) {
          assert.match(n, /^cmesh_[a-z_]+$/, `only cmesh's own tools: ${names}`);
        }
        assert.ok(names.some((n) => (DELEGATION_TOOLS as readonly string[]).includes(n)));
      });

      await t.step("the tool outputs codex sent back: claims apart from evidence", () => {
        const input = (main[3].body as ResponsesBody).input ?? [];
        const calls = input.filter((i) => i.type === "function_call");
        assert.deepEqual(
          calls.map((c) => `${c.namespace}/${c.name}`),
          ["mcp__cmesh/cmesh_delegate", "mcp__cmesh/cmesh_result"],
        );
        const outputs = new Map(
          input.filter((i) => i.type === "function_call_output").map((i) => [i.call_id, i.output]),
        );
        // codex 0.171 gives the model the tool's structuredContent as JSON after its own
        // "Wall time … Output:" header (not the text block): the separation is the JSON's.
        const delegated = outputJson(outputs.get(calls[0].call_id));
        const result = outputJson(outputs.get(calls[1].call_id));
        checkResultPayload(result, w, taskId);
        assert.equal(delegated.task_id, taskId, "cmesh_delegate returned the id cmesh_result read");
        assert.equal(delegated.done, true, "cmesh_delegate waited until the task ended");
        assert.deepEqual(main[2].captured, { task_id: taskId }, "the id the front captured");
      });

      await t.step("the worker's real Claude Code runner did the work", () => checkWorkerModel(w));

      await t.step("both audit chains verify and hold the task", () => checkAudits(w, taskId));
    } finally {
      await w.destroy();
    }
  },
});
