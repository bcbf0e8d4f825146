/**
 * @module
 * One check of `cmesh doctor` and `cmesh_setup_status`: its verdict (`pass`, `warn`, `fail`),
 * what was found and, when not passing, the fix; and the three constructors the check groups
 * (`checks_host.ts`, `checks_inbound.ts`, `checks_reach.ts`) build them with.
 *
 * @example
 * ```ts
 * import { type Check, fail, pass } from "./verdict.ts";
 * const checks: Check[] = [pass("config", "valid"), fail("daemon", "down", "cmesh daemon")];
 * ```
 */

/**
 * A check's verdict. A `fail` means cmesh cannot work as configured (doctor exits 1); a `warn`
 * means something is missing that the user probably wants.
 *
 * @example
 * ```ts
 * const worst: CheckStatus = "fail";
 * ```
 */
export type CheckStatus = "pass" | "warn" | "fail";

/**
 * One check.
 *
 * @example
 * ```ts
 * const check: Check = { id: "token", status: "fail", detail: "mode 644", fix: "chmod 600 …" };
 * ```
 */
export interface Check {
  /** Stable id, e.g. `config`, `daemon`, `runner.claude`, `agent.codex`, `peer.buildbox`. */
  id: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do about it (absent on pass). */
  fix?: string;
}

/**
 * A passing check.
 *
 * @example
 * ```ts
 * pass("config", "/home/me/.config/cmesh/config.toml is valid");
 * ```
 */
export const pass = (id: string, detail: string): Check => ({ id, status: "pass", detail });

/**
 * A check that found something missing the user probably wants, with the fix.
 *
 * @example
 * ```ts
 * warn("service", "no systemd service", "cmesh service install");
 * ```
 */
export const warn = (id: string, detail: string, fix: string): Check => ({
  id,
  status: "warn",
  detail,
  fix,
});

/**
 * A check that found cmesh cannot work as configured, with the fix.
 *
 * @example
 * ```ts
 * fail("daemon", "not answering on 127.0.0.1:7431", "cmesh service install");
 * ```
 */
export const fail = (id: string, detail: string, fix: string): Check => ({
  id,
  status: "fail",
  detail,
  fix,
});
