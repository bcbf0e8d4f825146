/**
 * @module
 * The verdicts of `cmesh doctor` and `cmesh_setup_status`: pure functions from
 * {@link SetupFacts} to checks (`verdict.ts`), each `pass`, `warn` or `fail` with what was found
 * and, when not passing, the fix. This is the table, in the order a human fixes them; the checks
 * themselves are in `checks_host.ts` (this machine), `checks_inbound.ts` (running work for peers)
 * and `checks_reach.ts` (agents and peers).
 *
 * @example
 * ```ts
 * import { doctorChecks, summarize } from "./checks.ts";
 * import type { SetupFacts } from "./facts.ts";
 * declare const facts: SetupFacts;
 * const checks = doctorChecks(facts);
 * summarize(checks); // { pass: 7, warn: 2, fail: 0, ok: true }
 * ```
 */
import { hostChecks } from "./checks_host.ts";
import { inboundChecks } from "./checks_inbound.ts";
import { reachChecks } from "./checks_reach.ts";
import type { SetupFacts } from "./facts.ts";
import type { Check, CheckStatus } from "./verdict.ts";

/**
 * Every check, in the order a human fixes them.
 *
 * @example
 * ```ts
 * import type { SetupFacts } from "./facts.ts";
 * declare const facts: SetupFacts;
 * const first = doctorChecks(facts).find((c) => c.status === "fail");
 * if (first) console.log(first.fix);
 * ```
 */
export function doctorChecks(f: SetupFacts): Check[] {
  return [...hostChecks(f), ...inboundChecks(f), ...reachChecks(f)];
}

/**
 * Counts, and `ok` = no failure.
 *
 * @example
 * ```ts
 * import { pass } from "./verdict.ts";
 * summarize([pass("config", "valid")]); // { pass: 1, warn: 0, fail: 0, ok: true }
 * ```
 */
export function summarize(
  checks: Check[],
): { pass: number; warn: number; fail: number; ok: boolean } {
  const n = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  return { pass: n("pass"), warn: n("warn"), fail: n("fail"), ok: n("fail") === 0 };
}
