/**
 * @module
 * A unified line diff (`---`/`+++`, `@@` hunks with 3 lines of context) for showing a
 * proposed config next to the current one. Pure; sized for config files (LCS table).
 *
 * @example
 * ```ts
 * import { unifiedDiff } from "./diff.ts";
 * unifiedDiff("a\nb\n", "a\nc\n", "config.toml");
 * // "--- config.toml (current)\n+++ config.toml (proposed)\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
 * ```
 */

/** One diff line; `a`/`b` are how many lines of each side came before it. */
type Op = { kind: " " | "-" | "+"; line: string; a: number; b: number };

function lines(text: string): string[] {
  if (text === "") return [];
  const l = text.split("\n");
  if (l.at(-1) === "") l.pop();
  return l;
}

function ops(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    const at = { a: i, b: j };
    if (i < n && j < m && a[i] === b[j]) {
      out.push({ kind: " ", line: a[i], ...at });
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push({ kind: "-", line: a[i++], ...at });
    } else out.push({ kind: "+", line: b[j++], ...at });
  }
  return out;
}

/** The diff of `before` → `after`; empty string when they are equal. */
export function unifiedDiff(before: string, after: string, name: string, context = 3): string {
  if (before === after) return "";
  const all = ops(lines(before), lines(after));
  const changed = all.map((o, k) => (o.kind !== " " ? k : -1)).filter((k) => k >= 0);
  const hunks: [number, number][] = [];
  for (const k of changed) {
    const lo = Math.max(0, k - context);
    const hi = Math.min(all.length - 1, k + context);
    const last = hunks.at(-1);
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else hunks.push([lo, hi]);
  }
  const out = [`--- ${name} (current)`, `+++ ${name} (proposed)`];
  for (const [lo, hi] of hunks) {
    const slice = all.slice(lo, hi + 1);
    const aCount = slice.filter((o) => o.kind !== "+").length;
    const bCount = slice.filter((o) => o.kind !== "-").length;
    const first = all[lo];
    const aFrom = aCount === 0 ? first.a : first.a + 1;
    const bFrom = bCount === 0 ? first.b : first.b + 1;
    out.push(`@@ -${aFrom},${aCount} +${bFrom},${bCount} @@`);
    for (const o of slice) out.push(`${o.kind}${o.line}`);
  }
  return out.join("\n") + "\n";
}
