/**
 * @module
 * Relative links in the Markdown documentation resolve: the target file exists, and a
 * `#fragment` names a heading (GitHub's anchor rules) or an explicit `<a id>` of the target
 * page. Covered: every `*.md` at the repository root and under `docs/`. Links inside code are
 * not links. The README also links every page of `docs/`, so a new page cannot go unlisted.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Markdown files that are documentation: root *.md and docs/**.md. */
function docFiles(): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(ROOT)) {
    if (e.isFile && e.name.endsWith(".md")) out.push(e.name);
  }
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(join(ROOT, dir))) {
      const rel = join(dir, e.name);
      if (e.isDirectory) walk(rel);
      else if (e.name.endsWith(".md")) out.push(rel);
    }
  };
  walk("docs");
  return out.sort();
}

/** The text without fenced code blocks, inline code and HTML comments (none holds links). */
export function withoutCode(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "")
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/(`+)[\s\S]*?\1/g, "");
}

/** Link targets: `[text](target "title")`, `![alt](target)` and `[ref]: target` definitions. */
export function linkTargets(markdown: string): string[] {
  const text = withoutCode(markdown);
  const out: string[] = [];
  for (const m of text.matchAll(/\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+"[^"]*")?\s*\)/g)) {
    out.push(m[1].replace(/^<|>$/g, ""));
  }
  for (const m of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*(\S+)/gm)) out.push(m[1]);
  return out;
}

/** GitHub's anchor for a heading's text (github-slugger), before de-duplication. */
export function slug(heading: string): string {
  const rendered = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // links and images → their text
    .replace(/`([^`]*)`/g, "$1") // inline code → its text
    .replace(/<[^>]+>/g, "") // inline HTML
    .replace(/(\*\*|__|\*)/g, ""); // emphasis markers
  return rendered.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(
    / /g,
    "-",
  );
}

/** Every anchor a Markdown page offers: heading slugs (with -1, -2 for repeats) and <a id>. */
export function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  const text = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1]);
  return out;
}

function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target);
}

const files = docFiles();

Deno.test("there is documentation to check", () => {
  for (const f of ["README.md", "docs/commands.md", "docs/configuration.md"]) {
    assert.ok(files.includes(f), `${f} missing`);
  }
});

for (const file of files) {
  Deno.test(`${file}: relative links resolve`, () => {
    const text = Deno.readTextFileSync(join(ROOT, file));
    const problems: string[] = [];
    for (const target of linkTargets(text)) {
      if (isExternal(target)) continue;
      const [pathPart, fragment] = target.split("#", 2) as [string, string | undefined];
      const resolved = pathPart === "" ? join(ROOT, file) : join(ROOT, dirname(file), pathPart);
      let isFile = false;
      try {
        const st = Deno.statSync(resolved);
        isFile = st.isFile;
      } catch {
        problems.push(`${target}: ${relative(ROOT, resolved)} does not exist`);
        continue;
      }
      if (fragment === undefined || fragment === "") continue;
      if (!isFile || !resolved.endsWith(".md")) {
        problems.push(`${target}: an anchor into something that is not a Markdown page`);
        continue;
      }
      const offered = anchors(Deno.readTextFileSync(resolved));
      if (!offered.has(decodeURIComponent(fragment))) {
        problems.push(
          `${target}: no heading with anchor #${fragment} in ${relative(ROOT, resolved)}`,
        );
      }
    }
    assert.deepEqual(problems, []);
  });
}

Deno.test("README.md links every page of docs/", () => {
  const targets = new Set(
    linkTargets(Deno.readTextFileSync(join(ROOT, "README.md"))).map((t) => t.split("#")[0]),
  );
  const pages = files.filter((f) => /^docs\/[^/]+\.md$/.test(f) && !f.endsWith("-internal.md"));
  const unlinked = pages.filter((p) => !targets.has(p));
  assert.deepEqual(unlinked, [], "docs pages the README does not link");
});

Deno.test("the link and anchor helpers follow GitHub's rules", () => {
  assert.equal(
    slug("`[node]`: how this machine names itself"),
    "node-how-this-machine-names-itself",
  );
  assert.equal(slug("cmesh tasks show"), "cmesh-tasks-show");
  assert.equal(
    slug("What each profile protects against — and what it does not"),
    "what-each-profile-protects-against--and-what-it-does-not",
  );
  assert.equal(slug("`cmesh_peers`"), "cmesh_peers");
  assert.equal(slug("**Why** `x` [y](z.md)"), "why-x-y");
  const a = anchors('# A\n## A\n```\n# not a heading\n```\n<a id="custom"></a>\n');
  assert.deepEqual([...a].sort(), ["a", "a-1", "custom"]);
  assert.deepEqual(
    linkTargets('[a](x.md) `[b](y.md)` ![i](img.png "t")\n```\n[c](z.md)\n```\n[r]: ref.md\n'),
    ["x.md", "img.png", "ref.md"],
  );
});
