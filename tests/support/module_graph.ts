/**
 * @module
 * The modules an entry imports statically, from Deno's own module graph (`deno info --json`).
 * What a long-running thread holds in memory is what its entry imports statically; dynamic
 * `import()`s are not followed. Tests use it to pin lazy loading down.
 *
 * @example
 * ```ts
 * import { staticImports } from "./module_graph.ts";
 * const mods = await staticImports("src/worker/thread.ts");
 * mods.includes("src/store/db.ts"); // true
 * ```
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "./daemon.ts";

interface GraphModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/**
 * Every module `entry` (a path from the repository root) imports statically, the repository's
 * own as `src/...` paths and the rest as Deno names them (`npm:/zod@4.6.7`, `node:path`).
 */
export async function staticImports(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: GraphModule[];
  };
  const bySpecifier = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>([graph.roots[0]]);
  const todo = [graph.roots[0]];
  while (todo.length) {
    const m = bySpecifier.get(todo.pop()!);
    for (const d of m?.dependencies ?? []) {
      const next = d.code?.specifier;
      if (!next || d.isDynamic || seen.has(next)) continue;
      seen.add(next);
      todo.push(next);
    }
  }
  return [...seen].map((m) => m.replace(/^file:\/\/.*?\/src\//, "src/"));
}
