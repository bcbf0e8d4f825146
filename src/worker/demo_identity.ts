/**
 * @module
 * **Local demo only.** An identity source that names every loopback caller with one fixed,
 * clearly fake identity, so `cmesh demo` can run two daemons on one machine with no Tailscale.
 * It cannot be selected from `config.toml`: only `cmesh daemon --insecure-local-demo`, which
 * the demo command passes, turns it on, and then the worker serves loopback only.
 */
import type { CallerIdentity } from "../policy/types.ts";
import { isLoopbackIp } from "../tailscale/addr.ts";
import type { IdentityLookup, IdentityOutcome } from "./ports.ts";

/** The identity every demo caller gets. Its stable id says what it is. */
export function demoCaller(node: string): CallerIdentity {
  return {
    node,
    dnsName: `${node}.local-demo.invalid.`,
    stableId: `local-demo:${node}`,
    login: "demo@local-demo.invalid",
    tags: [],
    capMap: {},
  };
}

/** Loopback callers are `node`; anything else is unknown (fail closed). */
export function demoIdentityLookup(node: string): IdentityLookup {
  return {
    whois(ip: string): Promise<IdentityOutcome> {
      if (isLoopbackIp(ip)) {
        return Promise.resolve({ ok: true, identity: demoCaller(node) });
      }
      return Promise.resolve({
        ok: false,
        code: "not_found",
        reason: `local demo: ${ip} is not loopback`,
      });
    },
  };
}
