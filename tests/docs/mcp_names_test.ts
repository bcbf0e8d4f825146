/**
 * @module
 * Every MCP tool the documentation names (`cmesh_delegate`, `cmesh_wait`, …, in the root `*.md`
 * files and `docs/`) is a tool that `cmesh mcp` really lists. The full contract of each tool
 * (arguments, annotations) against docs/mcp-tools.md is checked in tests/mcp/server_test.ts;
 * this catches a tool renamed or removed while other pages still tell agents to call it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { connectMcp } from "../mcp/_harness.ts";
import { REPO_ROOT } from "../support/daemon.ts";

const processTest = { sanitizeOps: false, sanitizeResources: false };

/** Root *.md and docs/*.md (not docs/internal), path → text. */
function pages(): Map<string, string> {
  const out = new Map<string, string>();
  for (const dir of ["", "docs"]) {
    for (const e of Deno.readDirSync(join(REPO_ROOT, dir))) {
      if (!e.isFile || !e.name.endsWith(".md")) continue;
      const rel = dir ? `${dir}/${e.name}` : e.name;
      out.set(rel, Deno.readTextFileSync(join(REPO_ROOT, rel)));
    }
  }
  return out;
}

/** Tool-like names in a text: `cmesh_` followed by lowercase words. */
export function toolNames(text: string): string[] {
  return [
    ...new Set([...text.matchAll(/(?<![A-Za-z0-9])cmesh_[a-z]+(?:_[a-z]+)*\b/g)].map((m) => m[0])),
  ];
}

Deno.test("every cmesh_* tool the docs name is listed by cmesh mcp", processTest, async () => {
  const home = await Deno.makeTempDir({ prefix: "cmesh-docs-mcp-" });
  const mcp = await connectMcp(join(home, "fresh"));
  try {
    const { tools } = await mcp.client.listTools();
    const listed = new Set(tools.map((t) => t.name));
    assert.ok(listed.has("cmesh_delegate"), "cmesh_delegate must be listed");
    const problems: string[] = [];
    for (const [page, text] of pages()) {
      for (const name of toolNames(text)) {
        if (!listed.has(name)) problems.push(`${page}: ${name} is not a tool of cmesh mcp`);
      }
    }
    assert.deepEqual(problems, []);
  } finally {
    await mcp.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("the tool-name finder", () => {
  assert.deepEqual(toolNames("call `cmesh_wait`, then mcp__cmesh__cmesh_result; cmesh_wait"), [
    "cmesh_wait",
    "cmesh_result",
  ]);
  assert.deepEqual(toolNames("cmesh mcp and CMESH_HOME"), []);
});
