/**
 * zod is configured before any cmesh schema is built: every product module imports it from
 * `src/deps/zod.ts` (jitless), never `"zod"` itself, so no module can build a schema first.
 */
import assert from "node:assert/strict";
import { relative } from "node:path";
import { z } from "../../src/deps/zod.ts";
import { TaskRequest } from "../../src/protocol/task.ts";

const SRC = new URL("../../src/", import.meta.url).pathname;

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* tsFiles(path);
    else if (e.name.endsWith(".ts")) yield path;
  }
}

Deno.test("zod: no product module imports it but src/deps/zod.ts", async () => {
  const direct: string[] = [];
  for await (const file of tsFiles(SRC.replace(/\/$/, ""))) {
    const text = await Deno.readTextFile(file);
    if (/from\s+["']zod(\/[^"']*)?["']/.test(text) && !file.endsWith("/deps/zod.ts")) {
      direct.push(relative(SRC, file));
    }
  }
  assert.deepEqual(direct, [], "import { z } from the deps/zod.ts module instead");
});

Deno.test("zod: jitless, and a schema still parses and refuses as before", () => {
  assert.equal(z.config().jitless, true);
  const bad = TaskRequest.safeParse({ task: 1 });
  assert.equal(bad.success, false);
});
