/**
 * @module
 * `deno task bench:doc [results.json]`: writes the measured table of a `deno task bench` run
 * (default `bench/results.json`) into docs/performance.md, between the
 * `<!-- bench:begin -->` and `<!-- bench:end -->` markers, so the page shows what the JSON
 * holds and nothing else.
 *
 * @example
 * ```ts
 * import { renderResults } from "./bench_doc.ts";
 * const md = renderResults(JSON.parse(await Deno.readTextFile("bench/results.json")));
 * ```
 */

interface Row {
  metric: string;
  value: string;
  target: string;
  met: string;
}

interface Results {
  machine: {
    nproc: number;
    cpu: string;
    mem_total_mib: number;
    os: string;
    kernel: string;
    deno: string;
    sqlite: string;
    date: string;
  };
  load?: { start: string; end: string };
  options: Record<string, unknown>;
  rows: Row[];
  seconds: number;
}

const BEGIN = "<!-- bench:begin -->";
const END = "<!-- bench:end -->";

/** The Markdown for one results file: where and when it was measured, then the table. */
export function renderResults(r: Results): string {
  const m = r.machine;
  const cell = (s: string) => s.replaceAll("|", "\\|");
  const lines = [
    `Measured ${m.date.slice(0, 16).replace("T", " ")} UTC on ${m.nproc} cores (${m.cpu}), ` +
    `${Math.round(m.mem_total_mib / 1024)} GiB RAM, ${m.os}, Linux ${m.kernel}, Deno ${m.deno}, ` +
    `SQLite ${m.sqlite}; ${r.seconds} s in all` +
    (r.load ? `; load average ${r.load.start} at the start, ${r.load.end} at the end.` : "."),
    "",
    "| metric | measured | target | met |",
    "| --- | --- | --- | --- |",
    ...r.rows.map((x) =>
      `| ${cell(x.metric.trim())} | ${cell(x.value)} | ${cell(x.target)} | ${x.met} |`
    ),
  ];
  return lines.join("\n");
}

/** Replaces the marked section of `doc` with `section`. */
export function replaceSection(doc: string, section: string): string {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/performance.md has no ${BEGIN} … ${END} section`);
  return doc.slice(0, a + BEGIN.length) + "\n\n" + section + "\n\n" + doc.slice(b);
}

if (import.meta.main) {
  const file = Deno.args[0] ?? "bench/results.json";
  const doc = "docs/performance.md";
  const results = JSON.parse(await Deno.readTextFile(file)) as Results;
  await Deno.writeTextFile(
    doc,
    replaceSection(await Deno.readTextFile(doc), renderResults(results)),
  );
  await new Deno.Command(Deno.execPath(), { args: ["fmt", doc] }).output();
  console.log(`wrote ${doc} from ${file}`);
}
