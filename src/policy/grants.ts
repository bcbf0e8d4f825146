/**
 * @module
 * Tailnet-granted delegation: the whois `CapMap` entry for the configured app capability
 * (`tailscale.app_capability`, e.g. `example.com/cap/cmesh`), evaluated setec-style.
 *
 * Each value of the capability must be an object with only these optional fields:
 * `{ "profiles": string[], "cwd": string[] (glob patterns, see glob.ts), "runners": string[] }`.
 * Any value that is not such an object (unknown field, wrong type, relative or `..` pattern)
 * makes the whole grant invalid and every request is denied (`grant.invalid`): fail closed,
 * and loud, so a typo in the tailnet policy is fixed rather than silently ignored.
 *
 * A request passes when ONE value allows every dimension; fields are never combined across
 * values (two narrow grants must not add up to a wide one). Missing fields:
 * - `profiles` missing → no profile is granted (the value allows nothing);
 * - `cwd` missing → no cwd is granted (the value allows nothing); use `["/**"]` for "any";
 * - `runners` missing → any runner (runners choose a tool, not a capability; the local
 *   config still limits runners). An explicit `[]` grants no runner.
 * The local config must allow the request too: grants only ever narrow.
 *
 * @example
 * ```ts
 * import { grantDecision } from "./grants.ts";
 * const caller = { node: "laptop", dnsName: "laptop.ts.net.", stableId: "n1", login: "ann@x",
 *   tags: [], capMap: { "example.com/cap/cmesh": [{ profiles: ["query"], cwd: ["/srv/**"] }] } };
 * grantDecision({ capability: "example.com/cap/cmesh", caller,
 *   request: { profile: "query", cwdReal: "/srv/app", runner: "claude", caseInsensitive: false } })
 *   .allow; // true
 * ```
 */
import { callerName } from "./caller.ts";
import { type Allow, type Deny, deny, listOrNone } from "./decision.ts";
import { globProblem, matchAnyPathGlob } from "./glob.ts";
import type { CallerIdentity } from "./types.ts";

/** One validated capability value. An absent field means what the module doc says. */
export interface GrantValue {
  profiles?: string[];
  cwd?: string[];
  runners?: string[];
}

/** The capability entry, parsed: absent, invalid (with one problem per bad value), or valid. */
export type ParsedGrant =
  | { status: "absent" }
  | { status: "invalid"; problems: string[] }
  | { status: "ok"; values: GrantValue[] };

const FIELDS = ["profiles", "cwd", "runners"] as const;

/**
 * Reads and validates `capMap[capability]`. An absent key or an empty list is `absent`.
 *
 * @example
 * ```ts
 * import { parseGrant } from "./grants.ts";
 * parseGrant({ "example.com/cap/cmesh": [{ profile: ["query"] }] }, "example.com/cap/cmesh");
 * // { status: "invalid", problems: ['value 0: unknown field "profile"'] }
 * ```
 */
export function parseGrant(
  capMap: Record<string, unknown> | null | undefined,
  capability: string,
): ParsedGrant {
  if (capMap === null || capMap === undefined || !Object.hasOwn(capMap, capability)) {
    return { status: "absent" };
  }
  const raw = capMap[capability];
  if (raw === null || raw === undefined) return { status: "absent" };
  if (!Array.isArray(raw)) return { status: "invalid", problems: ["the capability is not a list"] };
  if (raw.length === 0) return { status: "absent" };
  const problems: string[] = [];
  const values: GrantValue[] = [];
  raw.forEach((value, i) => {
    const parsed = parseValue(value);
    if (typeof parsed === "string") problems.push(`value ${i}: ${parsed}`);
    else values.push(parsed);
  });
  return problems.length > 0 ? { status: "invalid", problems } : { status: "ok", values };
}

function parseValue(value: unknown): GrantValue | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return 'must be an object like {"profiles": [...], "cwd": [...]}';
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(FIELDS as readonly string[]).includes(key)) return `unknown field ${JSON.stringify(key)}`;
  }
  const out: GrantValue = {};
  for (const field of FIELDS) {
    if (!Object.hasOwn(record, field)) continue;
    const list = record[field];
    if (!Array.isArray(list) || !list.every((x) => typeof x === "string" && x.length > 0)) {
      return `"${field}" must be a list of non-empty strings`;
    }
    if (field === "cwd") {
      for (const pattern of list as string[]) {
        const problem = globProblem(pattern);
        if (problem) return `cwd pattern ${JSON.stringify(pattern)} ${problem}`;
      }
    }
    out[field] = [...(list as string[])];
  }
  return out;
}

/** The dimensions of a request a grant is checked against. */
export interface GrantRequest {
  profile: string;
  /** The realpath of the cwd (already checked to be canonical). */
  cwdReal: string;
  runner: string;
  caseInsensitive: boolean;
}

/** An allow from the grant, naming the value that allowed it. */
export type GrantAllow = Allow & { grantValueIndex: number };

/**
 * Evaluates the caller's capability values against a request (module doc for the semantics).
 *
 * @example
 * ```ts
 * import { grantDecision } from "./grants.ts";
 * const caller = { node: "laptop", dnsName: "", stableId: "n1", login: "ann@x", tags: [],
 *   capMap: {} };
 * grantDecision({ capability: "example.com/cap/cmesh", caller,
 *   request: { profile: "query", cwdReal: "/srv", runner: "claude", caseInsensitive: false } })
 *   .rule; // "grant.missing"
 * ```
 */
export function grantDecision(input: {
  capability: string;
  caller: CallerIdentity;
  request: GrantRequest;
}): GrantAllow | Deny {
  const { capability, caller, request } = input;
  const who = callerName(caller);
  const parsed = parseGrant(caller.capMap, capability);
  const example = JSON.stringify({
    [capability]: [{ profiles: [request.profile], cwd: [request.cwdReal] }],
  });
  if (parsed.status === "absent") {
    return deny(
      "grant.missing",
      `the tailnet policy grants ${who} no ${capability} capability on this node, and this ` +
        `node requires one (tailscale.app_capability)`,
      `ask your tailnet admin to add a grant from ${who} to this node with "app": ${example}`,
    );
  }
  if (parsed.status === "invalid") {
    return deny(
      "grant.invalid",
      `the tailnet grant ${capability} for ${who} is malformed, so it allows nothing: ` +
        parsed.problems.join("; "),
      `ask your tailnet admin to fix the grant; each value may only have "profiles", "cwd" ` +
        `and "runners", each a list of strings`,
    );
  }
  // Per value: how far it gets (0 profile, 1 cwd, 2 runner, 3 allows all). Keep the furthest.
  let best = { stage: -1, index: -1 };
  parsed.values.forEach((value, index) => {
    const stage = valueStage(value, request);
    if (stage > best.stage) best = { stage, index };
  });
  if (best.stage === 3) {
    return {
      allow: true,
      rule: `grant.value[${best.index}]`,
      reason: `the tailnet grant ${capability} value ${best.index} allows ${who} profile ` +
        `${request.profile} with runner ${request.runner} in ${request.cwdReal}`,
      grantValueIndex: best.index,
    };
  }
  const hint = `ask your tailnet admin for a grant value that allows profile ${request.profile}, ` +
    `cwd ${request.cwdReal} and runner ${request.runner} together (values never combine)`;
  const value = parsed.values[best.index];
  if (best.stage === 0) {
    const granted = [...new Set(parsed.values.flatMap((v) => v.profiles ?? []))];
    return deny(
      "grant.profile",
      `the tailnet grant ${capability} does not allow ${who} profile ${request.profile}; ` +
        `granted profiles: ${listOrNone(granted)}`,
      hint,
    );
  }
  if (best.stage === 1) {
    return deny(
      "grant.cwd",
      `the tailnet grant ${capability} value ${best.index} allows ${who} profile ` +
        `${request.profile} but not cwd ${request.cwdReal}; that value allows cwd: ` +
        `${listOrNone(value.cwd ?? [])}`,
      hint,
    );
  }
  return deny(
    "grant.runner",
    `the tailnet grant ${capability} value ${best.index} allows ${who} profile ` +
      `${request.profile} in ${request.cwdReal} but not runner ${request.runner}; that value ` +
      `allows runners: ${listOrNone(value.runners ?? [])}`,
    hint,
  );
}

function valueStage(value: GrantValue, request: GrantRequest): number {
  if (!(value.profiles ?? []).includes(request.profile)) return 0;
  const cwdOk = matchAnyPathGlob(value.cwd ?? [], request.cwdReal, {
    caseInsensitive: request.caseInsensitive,
  });
  if (!cwdOk) return 1;
  if (value.runners !== undefined && !value.runners.includes(request.runner)) return 2;
  return 3;
}
