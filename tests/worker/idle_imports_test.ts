/**
 * @module
 * What an idle worker thread holds in memory is what `thread.ts` imports statically; the rest
 * (the HTTP front, the executor, recovery, the re-decision) is imported when first needed. This
 * pins that down from Deno's own module graph, so a new static import that pulls zod, hono or
 * the task modules back into every idle worker fails here rather than in `deno task bench`.
 */
import assert from "node:assert/strict";
import { staticImports } from "../support/module_graph.ts";

Deno.test("the idle worker thread imports neither zod, hono, logtape nor the task modules", async () => {
  const rel = await staticImports("src/worker/thread.ts");
  // node:path too: it brings the Node compatibility layer's error and validation modules into the
  // thread's isolate (protocol/paths.ts has what the idle code needs).
  const heavies = [
    "npm:zod",
    "npm:/zod",
    "npm:hono",
    "npm:/hono",
    "npm:@logtape",
    "npm:/@logtape",
    "node:path",
  ];
  for (const heavy of heavies) {
    assert.ok(
      !rel.some((m) => m.startsWith(heavy)),
      `${heavy} is imported at start:\n${rel.join("\n")}`,
    );
  }
  for (
    const lazy of [
      "src/worker/app.ts",
      "src/worker/tasks.ts",
      "src/scheduler/executor.ts",
      "src/protocol/task.ts",
      "src/scheduler/recovery.ts",
    ]
  ) {
    assert.ok(!rel.includes(lazy), `${lazy} is imported at start`);
  }
  // The check sees static imports at all: the thread's own idle modules are there.
  assert.ok(rel.includes("src/store/db.ts") && rel.includes("src/worker/identity_port.ts"));
});

Deno.test("the front the thread imports at its first request brings the app and the tasks", async () => {
  const rel = await staticImports("src/worker/front.ts");
  assert.ok(rel.includes("src/worker/app.ts") && rel.includes("src/worker/tasks.ts"));
  assert.ok(rel.some((m) => m.startsWith("npm:zod")));
  // Its records still go to the main thread: no logging library even once the front is loaded,
  // and its hashes are @noble/hashes' (store/hash.ts), not node:crypto's.
  assert.ok(!rel.some((m) => /logtape|node:crypto/.test(m)), rel.join("\n"));
  const runs = await staticImports("src/scheduler/executor.ts");
  assert.ok(!runs.includes("node:crypto"), runs.join("\n"));
});
