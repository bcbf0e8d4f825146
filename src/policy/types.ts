/**
 * @module
 * The inputs the policy layer reads: who is calling ({@link CallerIdentity}) and the slices of
 * the config each decision needs. Slices are `Pick`s of the validated {@link Config}, so a whole
 * `Config` can always be passed where a slice is asked for.
 *
 * @example
 * ```ts
 * import type { CallerIdentity } from "./types.ts";
 * const laptop: CallerIdentity = {
 *   node: "laptop", dnsName: "laptop.tail4c2e1.ts.net.", stableId: "nX1",
 *   login: "ann@example.com", tags: [], capMap: {},
 * };
 * ```
 */
import type { Config } from "../config/schema.ts";

/**
 * Who is calling, as the worker learned it from Tailscale whois. Declared here (not imported
 * from `tailscale/`) so policy depends only on this shape; the identity module's type is
 * structurally compatible with it.
 */
export interface CallerIdentity {
  /** Short node name (Tailscale hostname), e.g. `laptop`. */
  node: string;
  /** MagicDNS name, usually with a trailing dot: `laptop.tail4c2e1.ts.net.`. */
  dnsName: string;
  /** `Node.StableID`: the key to log and to count per-peer limits by. */
  stableId: string;
  /** Login name of the owning user; `null` for tagged nodes (their identity is their tags). */
  login: string | null;
  /** `tag:…` names; non-empty means a tagged node. */
  tags: string[];
  /** Grant app capabilities from whois `CapMap`: capability name → raw JSON values. */
  capMap: Record<string, unknown[]>;
}

/** What the inbound decision reads from the config. */
export interface InboundPolicyConfig {
  inbound: Pick<
    Config["inbound"],
    | "enabled"
    | "max_prompt_bytes"
    | "default_timeout_s"
    | "max_timeout_s"
    | "max_concurrent"
    | "max_queue"
    | "allow"
  >;
  profiles: Config["profiles"];
  tailscale: Pick<Config["tailscale"], "app_capability">;
}

/** Per-peer limits taken from the matched inbound rule; absent = only the global limit applies. */
export interface PeerLimits {
  maxConcurrent?: number;
  maxQueue?: number;
}
