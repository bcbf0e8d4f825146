/**
 * @module
 * Which network a runner's runs get, decided once from its manifest and the config (never
 * from a task): the mode (`none`, `model`, `host`) and, for `model`, the exact destinations.
 * Pure.
 *
 * - Mode: `runners.<name>.egress`, else the manifest's `egress.default` (`none` for a custom
 *   manifest that says nothing); then a profile's `profiles.<p>.egress` may only narrow it.
 * - Destinations: `runners.<name>.egress_hosts` when set, else the manifest's `egress.hosts`;
 *   plus the host of every base URL the runner is configured with (the manifest's `url_env`
 *   variables in the runner's environment, `url_arg_keys` values inside the config args).
 * - Never: the daemon's own ports on loopback (its control API and worker listener), even when
 *   named; such an entry is dropped and reported.
 *
 * @example
 * ```ts
 * import { runnerEgress } from "./policy.ts";
 * import { claudeManifest } from "../../builtin/claude.ts";
 * const p = runnerEgress({
 *   manifest: claudeManifest, env: { ANTHROPIC_BASE_URL: "http://127.0.0.1:8080" }, args: [],
 * });
 * p.mode; // "model"
 * p.destinations; // api.anthropic.com:443 and 127.0.0.1:8080
 * ```
 */
import type { EgressMode } from "../../../config/schema.ts";
import {
  type Destination,
  destinationFromUrl,
  formatDestination,
  isLoopbackHost,
  parseDestination,
} from "../../../util/destination.ts";
import { scrubbedEnv } from "../../env.ts";
import type { RunnerManifest } from "../../manifest.ts";
import type { ResolvedRunner } from "../../runtime.ts";

/** Modes from least to most reach. */
const RANK: Record<EgressMode, number> = { none: 0, model: 1, host: 2 };

/** A runner's (or one run's) network decision. */
export interface EgressPolicy {
  mode: EgressMode;
  /** Why the mode is what it is, e.g. `manifest egress.default` or `profiles.query.egress`. */
  modeFrom: string;
  /** Allowed destinations (only meaningful for `model`), each with where it came from. */
  destinations: { destination: Destination; from: string }[];
  /** Entries left out, and why (shown by the audit and `doctor`). */
  dropped: { entry: string; reason: string }[];
}

/** Inputs of {@link runnerEgress}. */
export interface RunnerEgressInput {
  manifest: Pick<RunnerManifest, "name" | "egress">;
  /** `runners.<name>.egress`. */
  configMode?: EgressMode;
  /** `runners.<name>.egress_hosts`. */
  configHosts?: readonly string[];
  /** The runner's own environment (scrubbed, as it will get it). */
  env: Readonly<Record<string, string>>;
  /** `runners.<name>.args`. */
  args: readonly string[];
  /** Ports of the daemon itself, refused on loopback (control API, worker listener). */
  daemonPorts?: readonly number[];
}

/** Values of `key="v"`, `key='v'` or `key=v` inside one argument. */
function argValues(arg: string, key: string): string[] {
  const re = new RegExp(
    `(?:^|[^A-Za-z0-9_])${key}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s,}]+))`,
    "g",
  );
  return [...arg.matchAll(re)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** The egress decision of one runner; see the module doc. */
export function runnerEgress(input: RunnerEgressInput): EgressPolicy {
  const { manifest } = input;
  const mode = input.configMode ?? manifest.egress.default;
  const modeFrom = input.configMode !== undefined
    ? `runners.${manifest.name}.egress`
    : `runner ${manifest.name} manifest egress.default`;
  const out: EgressPolicy = { mode, modeFrom, destinations: [], dropped: [] };
  const seen = new Set<string>();
  const add = (d: Destination, from: string) => {
    const key = formatDestination(d);
    if (d.port !== 0 && isLoopbackHost(d.host) && input.daemonPorts?.includes(d.port)) {
      out.dropped.push({ entry: key, reason: `${key} is cmesh's own listener on loopback` });
      return;
    }
    if (seen.has(key)) return;
    seen.add(key);
    out.destinations.push({ destination: d, from });
  };
  const hosts = input.configHosts ?? manifest.egress.hosts;
  const hostsFrom = input.configHosts !== undefined
    ? `runners.${manifest.name}.egress_hosts`
    : `runner ${manifest.name} manifest egress.hosts`;
  for (const h of hosts) {
    try {
      add(parseDestination(h), hostsFrom);
    } catch (e) {
      out.dropped.push({ entry: h, reason: (e as Error).message });
    }
  }
  for (const name of manifest.egress.url_env) {
    const value = input.env[name];
    if (value === undefined || value === "") continue;
    const d = destinationFromUrl(value);
    if (d) add(d, `${name} (base URL)`);
    else out.dropped.push({ entry: name, reason: `${name} is not an http(s) URL` });
  }
  for (const key of manifest.egress.url_arg_keys) {
    for (const arg of input.args) {
      for (const value of argValues(arg, key)) {
        const d = destinationFromUrl(value);
        if (d) add(d, `${key} in runners.${manifest.name}.args (base URL)`);
        else out.dropped.push({ entry: value, reason: `${key} is not an http(s) URL` });
      }
    }
  }
  return out;
}

/**
 * The egress decision of a resolved runner, with the environment it will get from
 * `daemonEnv` (the same scrubbing as its runs, so base URLs passed through count).
 */
export function resolvedRunnerEgress(
  runner: Pick<
    ResolvedRunner,
    "manifest" | "args" | "envPass" | "envSet" | "egress" | "egressHosts"
  >,
  daemonEnv: Readonly<Record<string, string>>,
  daemonPorts: readonly number[] = [],
): EgressPolicy {
  return runnerEgress({
    manifest: runner.manifest,
    configMode: runner.egress,
    configHosts: runner.egressHosts,
    env: scrubbedEnv(daemonEnv, runner.manifest, runner.envPass, runner.envSet),
    args: runner.args,
    daemonPorts,
  });
}

/**
 * Narrows a runner's decision by a profile's `egress` cap: the stricter mode wins. Returns
 * the same destinations (they only matter under `model`).
 */
export function capEgress(
  policy: EgressPolicy,
  profile: string,
  cap: EgressMode | undefined,
): EgressPolicy {
  if (cap === undefined || RANK[cap] >= RANK[policy.mode]) return policy;
  return { ...policy, mode: cap, modeFrom: `profiles.${profile}.egress` };
}

/** One line for logs and the audit, e.g. `model: api.anthropic.com:443, 127.0.0.1:8080`. */
export function describeEgress(policy: EgressPolicy): string {
  if (policy.mode !== "model") return policy.mode;
  const list = policy.destinations.map((d) => formatDestination(d.destination));
  return `model: ${list.length > 0 ? list.join(", ") : "(no destinations: nothing reachable)"}`;
}
