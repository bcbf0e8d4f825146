/**
 * @module
 * Imports in `src/` point down the layers. The order is the block under "## Layers" in
 * docs/architecture.md (the one place it is written): each line names one row, top first, as
 * `folder/` or `file.ts` entries separated by commas. A module may import from its own folder
 * and from any row below its own; an import into a row above, or into another folder of the
 * same row, fails here with the file, the import and both rows. Every entry of `src/` must
 * have a row, so a new folder cannot go unplaced.
 *
 * Imports read: static `import`/`export … from`, side-effect `import "…"`, dynamic
 * `import("…")` and `new Worker(new URL("…", import.meta.url))`, outside comments.
 */
import assert from "node:assert/strict";
import { join, posix, relative } from "node:path";

const ROOT = new URL("../../", import.meta.url).pathname;
const SRC = join(ROOT, "src");

/** The rows of the layer block, top first: each a list of `src/` entries (`cli`, `main.ts`). */
export function layerRows(architectureMd: string): string[][] {
  const at = architectureMd.indexOf("\n## Layers");
  assert.ok(at >= 0, 'docs/architecture.md has no "## Layers" section');
  const block = architectureMd.slice(at).match(/^```\n([\s\S]*?)^```$/m);
  assert.ok(block, 'no ``` block under "## Layers" in docs/architecture.md');
  return block[1].split("\n").filter((l) => l.trim() !== "").map((line) =>
    line.split(/\s{2,}/)[0].split(",").map((e) => e.trim().replace(/\/$/, ""))
  );
}

/** Relative specifiers a module imports (comments skipped). */
export function importsOf(source: string): string[] {
  const code = source.split("\n").filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l)).join("\n");
  const clause = String.raw`(?:type\s+)?(?:\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+(?:\s*,\s*\{[^}]*\})?)`;
  const patterns = [
    new RegExp(String.raw`^\s*(?:import|export)\s+${clause}\s*from\s*["']([^"']+)["']`, "gm"),
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    /\bnew\s+Worker\(\s*new\s+URL\(\s*["']([^"']+)["']/g,
  ];
  const out: string[] = [];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[1]);
  return out.filter((s) => s.startsWith("."));
}

/** One import against the layers. */
export interface Violation {
  file: string;
  specifier: string;
  from: string;
  to: string;
}

/**
 * Imports that go up or sideways. `files` maps paths relative to `src/` (`store/db.ts`) to
 * their text; `rows` come from {@link layerRows}.
 */
export function violations(files: Map<string, string>, rows: string[][]): Violation[] {
  const rowOf = new Map<string, number>();
  rows.forEach((row, i) => row.forEach((entry) => rowOf.set(entry, i)));
  const out: Violation[] = [];
  for (const [file, text] of files) {
    const from = file.split("/")[0];
    for (const specifier of importsOf(text)) {
      const target = posix.normalize(posix.join(posix.dirname(file), specifier));
      const to = target.split("/")[0];
      if (to === from || to === ".." || !rowOf.has(from) || !rowOf.has(to)) continue;
      if (rowOf.get(to)! <= rowOf.get(from)!) out.push({ file, specifier, from, to });
    }
  }
  return out;
}

function sourceFiles(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) walk(path);
      else if (e.name.endsWith(".ts")) out.set(relative(SRC, path), Deno.readTextFileSync(path));
    }
  };
  walk(SRC);
  return out;
}

const rows = layerRows(Deno.readTextFileSync(join(ROOT, "docs/architecture.md")));

Deno.test("every entry of src/ has a row in docs/architecture.md's layer block", () => {
  const placed = new Set(rows.flat());
  const missing = [...Deno.readDirSync(SRC)]
    .filter((e) => e.isDirectory || e.name.endsWith(".ts"))
    .map((e) => e.name)
    .filter((name) => !placed.has(name));
  assert.deepEqual(missing, [], `add a row (or an entry) for these to docs/architecture.md`);
});

Deno.test("no import in src/ points up a layer or sideways into another folder of its row", () => {
  const files = sourceFiles();
  // The scan sees the imports that hold the daemon together, so it is reading real code.
  const seen = new Set<string>();
  for (const [file, text] of files) {
    for (const s of importsOf(text)) {
      seen.add(`${file.split("/")[0]}→${posix.join(posix.dirname(file), s).split("/")[0]}`);
    }
  }
  for (const edge of ["daemon→worker", "cli→control", "worker→policy", "store→protocol"]) {
    assert.ok(seen.has(edge), `expected an import ${edge}`);
  }
  const found = violations(files, rows).map((v) =>
    `src/${v.file} imports "${v.specifier}": ${v.from}/ may not depend on ${v.to}/`
  );
  assert.deepEqual(found, []);
});

Deno.test("the layer check flags an upward and a sideways import, and not a downward one", () => {
  const files = new Map([
    ["store/tasks.ts", 'import { run } from "../cli/program.ts";\n'],
    ["control/app.ts", 'import type {\n  WorkerTasks,\n} from "../worker/ports.ts";\n'],
    ["worker/app.ts", 'const m = await import("../store/db.ts");\n'],
    ["daemon/x.ts", '/**\n * import { a } from "../cli/a.ts";\n */\n// import "../cli/b.ts";\n'],
  ]);
  const found = violations(files, rows).map((v) => `${v.from}→${v.to}`);
  assert.deepEqual(found, ["store→cli", "control→worker"]);
});
