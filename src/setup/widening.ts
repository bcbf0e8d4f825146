/**
 * @module
 * Which config changes widen what other machines may do here, so an agent cannot apply them
 * through MCP on its own (`cmesh_setup_apply` then needs the human: an MCP elicitation, or
 * `cmesh config apply <hash>` in a terminal). Pure: old config in, new config in, the list of
 * widening changes out; an empty list means the change only narrows or touches outbound
 * settings and the node's name.
 *
 * Widening, compared on the effective (defaults filled in) configs, whatever `inbound.enabled`
 * says (rules added while inbound is off take effect the day it is turned on):
 *
 * - `inbound.enabled` turned on; any `inbound.*` limit raised;
 * - an inbound rule that grants a selector (peer, tag, login) something no old rule naming the
 *   same selector granted: a profile, a runner, a cwd root not inside one of that rule's roots
 *   (lexically and, when a `realpath` is given, after resolving both), a higher or missing
 *   per-rule limit;
 * - a profile enabled; a runner enabled, or its binary, args or env changed, or env passed in;
 * - any `[tailscale]` change except a new `app_capability` or a shorter `timeout_ms` (the
 *   identity source and the grant check live there); `daemon.state_dir` moved (the worker's
 *   sandbox follows it), `daemon.max_body_bytes` raised;
 * - the OS sandbox turned off (`sandbox.mode = "off"`, or `required` dropped);
 * - an outbound peer's `stable_id` changed or removed (that is re-pinning a peer);
 * - any key this module does not know about (fail closed: a future key counts as widening
 *   until it is classified here).
 *
 * @example
 * ```ts
 * import { Config } from "../config/schema.ts";
 * import { wideningChanges } from "./widening.ts";
 * const before = Config.parse({});
 * const after = Config.parse({ inbound: { enabled: true } });
 * wideningChanges(before, after); // ["turn inbound tasks on (inbound.enabled = true)"]
 * ```
 */
import type { Config, InboundRule } from "../config/schema.ts";
import { isInside, parseAbsolutePath } from "../policy/path.ts";

/** Resolves a path (symlinks) or says it cannot (`null`: missing, unreadable). */
export type Realpath = (path: string) => string | null;

type Obj = Record<string, unknown>;

const INBOUND_LIMITS = [
  "max_concurrent",
  "max_queue",
  "max_prompt_bytes",
  "default_timeout_s",
  "max_timeout_s",
  "max_output_bytes",
] as const;

const RULE_SELECTORS = ["peers", "tags", "logins"] as const;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Keys of `after` and `before` other than `known` whose values differ. */
function unknownChanges(
  before: Obj,
  after: Obj,
  known: readonly string[],
  where: string,
): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => !known.includes(k) && !same(before[k], after[k]))
    .map((k) => `change ${where}${k} (not known to be narrowing, so treated as widening)`);
}

function lexicallyInside(child: string, root: string): boolean {
  const c = parseAbsolutePath(child);
  const r = parseAbsolutePath(root);
  return c.ok && r.ok && isInside(c.path, r.path, false);
}

/** `child` is inside `root` lexically and, with `realpath`, after resolving both. */
function rootInside(child: string, root: string, realpath?: Realpath): boolean {
  if (!lexicallyInside(child, root)) return false;
  if (!realpath) return true;
  const rc = realpath(child);
  const rr = realpath(root);
  return rc !== null && rr !== null && lexicallyInside(rc, rr);
}

const selectorKey = (kind: string, value: string) =>
  kind === "peers"
    ? `peer ${value.toLowerCase().replace(/\.$/, "")}`
    : kind === "tags"
    ? value
    : `login ${value}`;

function selectorsOf(rule: InboundRule): string[] {
  return RULE_SELECTORS.flatMap((k) => rule[k].map((v) => selectorKey(k, v)));
}

/** Why `rule` grants `selector` more than `old` did, or null when `old` covers it. */
function ruleExcess(rule: InboundRule, old: InboundRule, realpath?: Realpath): string | null {
  const profiles = rule.profiles.filter((p) => !old.profiles.includes(p));
  if (profiles.length) return `profiles ${profiles.join(", ")}`;
  const runners = rule.runners.filter((r) => !old.runners.includes(r));
  if (runners.length) return `runners ${runners.join(", ")}`;
  const roots = rule.cwd.filter((c) => !old.cwd.some((o) => rootInside(c, o, realpath)));
  if (roots.length) return `cwd roots ${roots.join(", ")}`;
  for (const k of ["max_concurrent", "max_queue"] as const) {
    const o = old[k];
    const n = rule[k];
    if (o !== undefined && (n === undefined || n > o)) return `${k} ${n ?? "unset"} (was ${o})`;
  }
  return null;
}

function ruleWidenings(before: InboundRule[], after: InboundRule[], realpath?: Realpath): string[] {
  const out: string[] = [];
  after.forEach((rule, i) => {
    const extra = Object.keys(rule).filter((k) =>
      ![
        ...RULE_SELECTORS,
        "profiles",
        "cwd",
        "runners",
        "max_concurrent",
        "max_queue",
      ].includes(k)
    );
    for (const selector of selectorsOf(rule)) {
      const candidates = before.filter((o) => selectorsOf(o).includes(selector));
      const excess = candidates.length === 0
        ? "access it had no rule for"
        : candidates.map((o) => ruleExcess(rule, o, realpath)).every((e) => e !== null)
        ? ruleExcess(rule, candidates[0], realpath)
        : null;
      if (excess) out.push(`inbound.allow[${i}] gives ${selector} ${excess}`);
    }
    for (const k of extra) {
      if (!before.some((o) => same((o as Obj)[k], (rule as Obj)[k]))) {
        out.push(`inbound.allow[${i}] sets ${k} (not known to be narrowing)`);
      }
    }
  });
  return out;
}

function inboundWidenings(before: Config, after: Config, realpath?: Realpath): string[] {
  const out: string[] = [];
  const b = before.inbound;
  const a = after.inbound;
  if (a.enabled && !b.enabled) out.push("turn inbound tasks on (inbound.enabled = true)");
  for (const k of INBOUND_LIMITS) {
    if (a[k] > b[k]) out.push(`raise inbound.${k} from ${b[k]} to ${a[k]}`);
  }
  out.push(...ruleWidenings(b.allow, a.allow, realpath));
  out.push(
    ...unknownChanges(b as Obj, a as Obj, ["enabled", "allow", ...INBOUND_LIMITS], "inbound."),
  );
  return out;
}

function profileWidenings(before: Config, after: Config): string[] {
  return Object.entries(after.profiles)
    .filter(([name, p]) => p.enabled && before.profiles[name]?.enabled !== true)
    .map(([name]) => `enable the ${name} profile (profiles.${name}.enabled = true)`);
}

type RunnerOverrides = Config["runners"][string];
const DEFAULT_RUNNER: RunnerOverrides = { enabled: true, args: [], env_pass: [], env: {} };

function runnerWidenings(before: Config, after: Config): string[] {
  const out: string[] = [];
  const names = new Set([...Object.keys(before.runners), ...Object.keys(after.runners)]);
  for (const name of [...names].sort()) {
    const b = before.runners[name] ?? DEFAULT_RUNNER;
    const a = after.runners[name] ?? DEFAULT_RUNNER;
    if (!a.enabled) continue; // a disabled runner grants nothing, whatever else changed
    const why: string[] = [];
    if (!b.enabled) why.push("enabled");
    if (!same(b.binary, a.binary)) why.push("binary changed");
    if (!same(b.args, a.args)) why.push("args changed");
    const passed = a.env_pass.filter((e) => !b.env_pass.includes(e));
    if (passed.length) why.push(`passes ${passed.join(", ")}`);
    if (!same(b.env, a.env)) why.push("env changed");
    why.push(
      ...unknownChanges(b as Obj, a as Obj, [
        "enabled",
        "binary",
        "args",
        "env_pass",
        "env",
      ], "").map((s) => s.replace(/^change /, "")),
    );
    if (why.length) out.push(`runner ${name}: ${why.join("; ")}`);
  }
  return out;
}

function tailscaleWidenings(before: Config, after: Config): string[] {
  const b = before.tailscale as Obj;
  const a = after.tailscale as Obj;
  const out: string[] = [];
  if (b.app_capability !== undefined && a.app_capability !== b.app_capability) {
    out.push(
      `change or drop the grant check tailscale.app_capability (was ${String(b.app_capability)})`,
    );
  }
  if ((a.timeout_ms as number) > (b.timeout_ms as number)) {
    out.push(`raise tailscale.timeout_ms from ${b.timeout_ms} to ${a.timeout_ms}`);
  }
  for (const k of Object.keys({ ...b, ...a })) {
    if (k === "app_capability" || k === "timeout_ms" || same(b[k], a[k])) continue;
    out.push(`change tailscale.${k} (where caller identity comes from)`);
  }
  return out;
}

function daemonWidenings(before: Config, after: Config): string[] {
  const b = before.daemon;
  const a = after.daemon;
  const out: string[] = [];
  if (b.state_dir !== a.state_dir) {
    out.push(`move daemon.state_dir to ${a.state_dir ?? "the default"} (the worker's sandbox)`);
  }
  if (a.max_body_bytes > b.max_body_bytes) {
    out.push(`raise daemon.max_body_bytes from ${b.max_body_bytes} to ${a.max_body_bytes}`);
  }
  out.push(
    ...unknownChanges(b as Obj, a as Obj, [
      "state_dir",
      "max_body_bytes",
      "control_port",
      "worker_port",
      "log_level",
    ], "daemon."),
  );
  return out;
}

function sandboxWidenings(before: Config, after: Config): string[] {
  const b = (before as Obj).sandbox as Obj | undefined ?? {};
  const a = (after as Obj).sandbox as Obj | undefined ?? {};
  const out: string[] = [];
  // Unset is `required` on Linux and macOS but `off` on Windows: dropping `required` counts.
  if (a.mode !== b.mode && (a.mode === "off" || (b.mode === "required" && a.mode === undefined))) {
    out.push(`turn the OS sandbox off (sandbox.mode = ${a.mode ?? "unset"})`);
  }
  out.push(...unknownChanges(b, a, ["mode"], "sandbox."));
  return out;
}

function outboundWidenings(before: Config, after: Config): string[] {
  const out: string[] = [];
  for (const p of after.outbound.peers) {
    const old = before.outbound.peers.find((o) => o.name === p.name) as Obj | undefined;
    const was = old?.stable_id;
    if (typeof was === "string" && (p as Obj).stable_id !== was) {
      out.push(`re-pin outbound peer ${p.name} (stable_id was ${was})`);
    }
  }
  return out;
}

/**
 * The changes from `before` to `after` that widen what others may do on this machine (or
 * re-pin an outbound peer), one line each; `[]` when none does. `realpath`, when given, is
 * used to check that a root still lies inside an old root after resolving symlinks.
 */
export function wideningChanges(before: Config, after: Config, realpath?: Realpath): string[] {
  return [
    ...inboundWidenings(before, after, realpath),
    ...profileWidenings(before, after),
    ...runnerWidenings(before, after),
    ...tailscaleWidenings(before, after),
    ...daemonWidenings(before, after),
    ...sandboxWidenings(before, after),
    ...outboundWidenings(before, after),
    ...unknownChanges(before as Obj, after as Obj, [
      "node",
      "daemon",
      "tailscale",
      "outbound",
      "inbound",
      "profiles",
      "runners",
      "sandbox",
    ], ""),
  ];
}
