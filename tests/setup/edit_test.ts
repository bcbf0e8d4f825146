/**
 * The pure agent-config edits: add/replace/remove the `cmesh` entry and nothing else. JSON keeps
 * every other key and the file's indentation; TOML keeps comments and layout (a text edit
 * proven by parsing both versions), falls back to a full re-serialisation only when the text
 * edit cannot be proven, and says so.
 */
import assert from "node:assert/strict";
import { parse } from "smol-toml";
import {
  AgentConfigError,
  getJsonServer,
  getTomlServer,
  removeJsonServer,
  removeTomlServer,
  sameData,
  setJsonServer,
  setTomlServer,
} from "../../src/setup/agents/edit.ts";

const ENTRY = { command: "/home/ann/.local/bin/cmesh", args: ["mcp"] };

Deno.test("JSON: add keeps other servers and top-level keys, and the file's indentation", () => {
  const before = JSON.stringify(
    { theme: "dark", mcpServers: { other: { command: "x", args: [] } }, projects: { "/a": {} } },
    null,
    4,
  );
  const r = setJsonServer(before, "cmesh", ENTRY);
  assert.equal(r.changed, true);
  assert.equal(r.previous, undefined);
  const after = JSON.parse(r.text);
  assert.deepEqual(after.mcpServers.other, { command: "x", args: [] });
  assert.deepEqual(after.mcpServers.cmesh, ENTRY);
  assert.equal(after.theme, "dark");
  assert.deepEqual(after.projects, { "/a": {} });
  assert.match(r.text, /^\{\n {4}"theme"/, "4-space indentation kept");
  assert.ok(r.text.endsWith("}\n"));
});

Deno.test("JSON: an identical entry is not rewritten; a different one is replaced", () => {
  const once = setJsonServer(null, "cmesh", ENTRY).text;
  const twice = setJsonServer(once, "cmesh", { ...ENTRY });
  assert.equal(twice.changed, false);
  assert.equal(twice.text, once);
  const moved = setJsonServer(once, "cmesh", { ...ENTRY, command: "/usr/bin/cmesh" });
  assert.equal(moved.changed, true);
  assert.deepEqual(moved.previous, ENTRY);
  assert.equal(getJsonServer(moved.text, "cmesh") !== undefined, true);
});

Deno.test("JSON: remove drops only cmesh; removing what is absent changes nothing", () => {
  const text = JSON.stringify({ mcpServers: { cmesh: ENTRY, other: { command: "y" } }, k: 1 });
  const r = removeJsonServer(text, "cmesh");
  assert.equal(r.changed, true);
  assert.deepEqual(JSON.parse(r.text), { mcpServers: { other: { command: "y" } }, k: 1 });
  const again = removeJsonServer(r.text, "cmesh");
  assert.equal(again.changed, false);
  assert.equal(again.text, r.text);
  assert.equal(removeJsonServer(null, "cmesh").changed, false);
});

Deno.test("JSON: invalid files are refused with the file named, never overwritten", () => {
  assert.throws(() => setJsonServer("{ nope", "cmesh", ENTRY, "/x.json"), (e) => {
    assert.ok(e instanceof AgentConfigError);
    assert.match(e.message, /^\/x\.json: is not valid JSON/);
    return true;
  });
  assert.throws(() => setJsonServer("[1]", "cmesh", ENTRY), /does not hold a JSON object/);
  assert.throws(
    () => setJsonServer('{"mcpServers": []}', "cmesh", ENTRY),
    /"mcpServers" is not an object/,
  );
});

const CODEX = `# Codex settings (hand-written)
model = "gpt-5"   # my favourite

[mcp_servers.other]
command = "other-server" # keep this comment
args = ["--flag"]

[mcp_servers.other.env]
TOKEN_FILE = "/x"

[profiles.fast]
model = "gpt-5-mini"
`;

Deno.test("TOML: add appends a [mcp_servers.cmesh] block; comments and other tables are kept verbatim", () => {
  const r = setTomlServer(CODEX, "cmesh", { ...ENTRY, env: { CMESH_HOME: "/h" } });
  assert.equal(r.changed, true);
  assert.equal(r.reformatted, undefined);
  assert.ok(r.text.startsWith(CODEX), "everything before is unchanged, byte for byte");
  const doc = parse(r.text) as Record<string, Record<string, unknown>>;
  assert.ok(sameData(doc.mcp_servers.cmesh, { ...ENTRY, env: { CMESH_HOME: "/h" } }));
  assert.ok(
    sameData(doc.mcp_servers.other, {
      command: "other-server",
      args: ["--flag"],
      env: { TOKEN_FILE: "/x" },
    }),
  );
});

Deno.test("TOML: replace rewrites only the cmesh block (and its sub-tables); add+remove restores the file", () => {
  const added = setTomlServer(CODEX, "cmesh", { ...ENTRY, env: { A: "1" } }).text;
  const same = setTomlServer(added, "cmesh", { ...ENTRY, env: { A: "1" } });
  assert.equal(same.changed, false, "identical entry: no change");
  const replaced = setTomlServer(added, "cmesh", ENTRY);
  assert.equal(replaced.changed, true);
  assert.doesNotMatch(replaced.text, /mcp_servers\.cmesh\.env/);
  assert.match(replaced.text, /# keep this comment/);
  const removed = removeTomlServer(replaced.text, "cmesh");
  assert.equal(removed.changed, true);
  assert.equal(removed.text, CODEX, "removing the block gives back the original file");
  assert.equal(removeTomlServer(CODEX, "cmesh").changed, false);
  assert.equal(getTomlServer(CODEX, "cmesh"), undefined);
});

Deno.test("TOML: a cmesh entry written as an inline table is replaced by re-serialising, flagged", () => {
  const inline = `[mcp_servers]\ncmesh = { command = "old" }\nother = { command = "o" }\n`;
  const r = setTomlServer(inline, "cmesh", ENTRY);
  assert.equal(r.changed, true);
  assert.equal(r.reformatted, true);
  const doc = parse(r.text) as Record<string, Record<string, unknown>>;
  assert.ok(sameData(doc.mcp_servers.cmesh, ENTRY));
  assert.ok(sameData(doc.mcp_servers.other, { command: "o" }));
  const gone = removeTomlServer(r.text, "cmesh");
  assert.ok(
    sameData((parse(gone.text) as Record<string, unknown>).mcp_servers, {
      other: { command: "o" },
    }),
  );
});

Deno.test("TOML: a new file gets just the block; invalid TOML is refused", () => {
  const r = setTomlServer(null, "cmesh", ENTRY);
  assert.equal(r.changed, true);
  assert.ok(sameData(parse(r.text), { mcp_servers: { cmesh: ENTRY } }));
  assert.throws(
    () => setTomlServer("model = \n", "cmesh", ENTRY, "/c.toml"),
    /\/c\.toml: is not valid TOML/,
  );
  assert.throws(
    () => setTomlServer('mcp_servers = "x"\n', "cmesh", ENTRY),
    /mcp_servers is not a table/,
  );
});

Deno.test("sameData ignores prototypes but not values", () => {
  const bare = Object.assign(Object.create(null), { a: [1, { b: 2 }] });
  assert.ok(sameData(bare, { a: [1, { b: 2 }] }));
  assert.ok(!sameData(bare, { a: [1, { b: 3 }] }));
  assert.ok(!sameData({ a: 1 }, { a: 1, b: undefined }));
  assert.ok(!sameData([1], { 0: 1 }));
});
