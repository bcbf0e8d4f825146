/**
 * @module
 * Builders shared by the policy tests: callers, configs and inbound inputs with safe defaults
 * that each test overrides in the one dimension it is about.
 */
import { Config } from "../../src/config/schema.ts";
import type { InboundInput, InboundRequest } from "../../src/policy/inbound.ts";
import type { CallerIdentity } from "../../src/policy/types.ts";

/** A user-owned laptop. */
export function laptop(over: Partial<CallerIdentity> = {}): CallerIdentity {
  return {
    node: "laptop",
    dnsName: "laptop.tail4c2e1.ts.net.",
    stableId: "nLAPTOP",
    login: "ann@example.com",
    tags: [],
    capMap: {},
    ...over,
  };
}

/** A tagged CI node (no login). */
export function ciNode(over: Partial<CallerIdentity> = {}): CallerIdentity {
  return {
    node: "ci-runner-3",
    dnsName: "ci-runner-3.tail4c2e1.ts.net.",
    stableId: "nCI3",
    login: null,
    tags: ["tag:ci"],
    capMap: {},
    ...over,
  };
}

/** A parsed config; `raw` is merged over an enabled inbound section. */
export function config(raw: Record<string, unknown> = {}): Config {
  const inbound = (raw.inbound ?? {}) as Record<string, unknown>;
  return Config.parse({
    ...raw,
    inbound: {
      enabled: true,
      allow: [{ peers: ["laptop"], cwd: ["/srv/app", "/home/ann/src"] }],
      ...inbound,
    },
  });
}

/** Identity realpath: every configured root "exists" at its own spelling. */
export function rootsAsConfigured(cfg: Config): string[][] {
  return cfg.inbound.allow.map((rule) => [...rule.cwd]);
}

/** A full inbound input with defaults: laptop asks for `query` with claude in /srv/app. */
export function inboundInput(
  over: {
    config?: Config;
    caller?: CallerIdentity;
    request?: Partial<InboundRequest>;
    rootsReal?: (string | null)[][];
    runnersAvailable?: string[];
    caseInsensitive?: boolean;
  } = {},
): InboundInput {
  const cfg = over.config ?? config();
  const request: InboundRequest = {
    cwdReal: "/srv/app",
    cwdRequested: over.request?.cwdReal ?? "/srv/app",
    profile: "query",
    runner: "claude",
    promptBytes: 100,
    ...over.request,
  };
  return {
    config: cfg,
    caller: over.caller ?? laptop(),
    request,
    rootsReal: over.rootsReal ?? rootsAsConfigured(cfg),
    runnersAvailable: over.runnersAvailable ?? ["claude", "codex"],
    caseInsensitive: over.caseInsensitive ?? false,
  };
}
