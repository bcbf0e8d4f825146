/**
 * @module
 * `cmesh doctor`: every setup check with pass/warn/fail and a fix; exit 1 when any fails.
 */
import { doctorChecks, summarize } from "../../setup/checks.ts";
import { gatherFacts } from "../../setup/facts.ts";
import { configFileFor } from "../context.ts";
import { type CommonOptions, emit, EXIT, style } from "../output.ts";

/** `cmesh doctor`. */
export async function doctor(opts: CommonOptions): Promise<void> {
  const facts = await gatherFacts({ configFile: configFileFor(opts) });
  const checks = doctorChecks(facts);
  const summary = summarize(checks);
  const width = Math.max(...checks.map((c) => c.id.length));
  const label = {
    pass: style("pass", "green"),
    warn: style("warn", "yellow"),
    fail: style("FAIL", "red"),
  };
  emit(opts, { ...summary, checks }, () =>
    [
      ...checks.flatMap((c) => [
        `${label[c.status]}  ${c.id.padEnd(width)}  ${c.detail}`,
        ...(c.fix ? [`      ${" ".repeat(width)}  fix: ${c.fix}`] : []),
      ]),
      "",
      `${summary.pass} passed, ${summary.warn} warning(s), ${summary.fail} failed`,
    ].join("\n"));
  if (!summary.ok) Deno.exitCode = EXIT.FAILURE;
}
