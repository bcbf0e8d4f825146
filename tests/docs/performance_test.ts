/** docs/performance.md shows exactly the table of the committed bench/results.json. */
import assert from "node:assert/strict";
import { renderResults, replaceSection } from "../../scripts/bench_doc.ts";

const cells = (md: string) =>
  md.split("\n")
    .filter((l) => l.startsWith("|") && !/^\|[\s|:-]+\|$/.test(l))
    .map((l) => l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));

Deno.test("the performance page's table is the one bench:doc renders from bench/results.json", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/performance.md", import.meta.url));
  const results = JSON.parse(
    await Deno.readTextFile(new URL("../../bench/results.json", import.meta.url)),
  );
  const section = doc.slice(doc.indexOf("<!-- bench:begin -->"), doc.indexOf("<!-- bench:end -->"));
  const expected = renderResults(results);
  assert.deepEqual(cells(section), cells(expected), "run `deno task bench:doc`");
  assert.ok(section.includes(`Measured ${results.machine.date.slice(0, 10)}`));
  // The writer only touches the marked section.
  const replaced = replaceSection(
    "head\n<!-- bench:begin -->\nold\n<!-- bench:end -->\ntail",
    "new",
  );
  assert.equal(replaced, "head\n<!-- bench:begin -->\n\nnew\n\n<!-- bench:end -->\ntail");
});
