/**
 * The policy layer must stay pure: no Deno APIs, no I/O modules, no HTTP, no SQLite, and no
 * imports from layers above it or beside it except config/protocol types.
 */
import assert from "node:assert/strict";

const dir = new URL("../../src/policy/", import.meta.url);

Deno.test("src/policy imports nothing with I/O", async () => {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".ts")) files.push(entry.name);
  }
  assert.ok(files.length >= 8, `found ${files.length} files`);
  for (const name of files) {
    const source = await Deno.readTextFile(new URL(name, dir));
    const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    assert.doesNotMatch(code, /\bDeno\./, `${name} uses a Deno API`);
    assert.doesNotMatch(code, /\bfetch\(/, `${name} uses fetch`);
    const imports = [...code.matchAll(/\bfrom\s+["']([^"']+)["']/g)].map((m) => m[1]);
    for (const spec of imports) {
      const ok = spec.startsWith("./") || spec === "../config/schema.ts" ||
        spec.startsWith("../protocol/") || spec === "node:path/posix";
      assert.ok(ok, `${name} imports ${spec}`);
    }
    assert.doesNotMatch(code, /\bimport\(/, `${name} uses a dynamic import`);
  }
});

Deno.test("src/policy modules stay under ~400 lines", async () => {
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile) continue;
    const lines = (await Deno.readTextFile(new URL(entry.name, dir))).split("\n").length;
    assert.ok(lines <= 420, `${entry.name} has ${lines} lines`);
  }
});
