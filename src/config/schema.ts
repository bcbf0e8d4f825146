/**
 * @module
 * The `config.toml` schema. Every section is strict: unknown keys are errors, so a typo never
 * silently turns a rule off. Defaults are the safe ones: inbound disabled, only `query`
 * enabled.
 *
 * @example
 * ```ts
 * import { Config } from "./schema.ts";
 * const cfg = Config.parse({ inbound: { enabled: false } });
 * cfg.profiles.query.enabled; // true
 * cfg.profiles.full.enabled; // false
 * ```
 */
import { z } from "../deps/zod.ts";
import { AbsolutePath, Name } from "../protocol/task.ts";
import { parseDestination } from "../util/destination.ts";

/** The built-in profile names, least capable first. */
export const BUILTIN_PROFILES = ["query", "edit", "build", "full"] as const;

const PositiveInt = z.int().positive();

const NON_EMPTY = "must list at least one entry, got an empty array";
const NonEmptyString = z.string().min(1, "must not be empty");

const PORT_RANGE = "must be a port number from 1 to 65535";
const Port = z.int().min(1, PORT_RANGE).max(65535, PORT_RANGE);

/** A table keyed by profile or runner name; a bad name says what a name must look like. */
const NamedTables = <T extends z.ZodType>(value: T) =>
  z.record(Name, value, {
    error: (issue) =>
      issue.code === "invalid_key"
        ? "must be a lowercase name: letters, digits, '_' or '-', starting with a letter (max 32)"
        : undefined,
  });

/** A tag as Tailscale writes it: `tag:name`. */
const Tag = z.string().regex(/^tag:[A-Za-z0-9][A-Za-z0-9_-]*$/, 'must look like "tag:name"');

/** Network modes of a run, least reach first (`docs/runner-manifests.md`, "Egress"). */
export const EGRESS_MODES = ["none", "model", "host"] as const;
/** A network mode: `none`, `model` (only named hosts, through the daemon's proxy) or `host`. */
export const EgressMode = z.enum(EGRESS_MODES);
/** A network mode. */
export type EgressMode = z.infer<typeof EgressMode>;

/** One egress destination, `host:port` (`[v6]:port`), exact: no wildcards. */
export const EgressHost = z.string().superRefine((text, ctx) => {
  try {
    parseDestination(text);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
  }
});

/** `[node]`: how this machine names itself. */
export const NodeSection = z.strictObject({
  /** Display name; defaults to the Tailscale hostname. */
  name: z.string().min(1, "must be 1 to 63 characters").max(63, "must be 1 to 63 characters")
    .optional(),
});

/** `[daemon]`: ports and where state lives. */
export const DaemonSection = z.strictObject({
  state_dir: AbsolutePath.optional(),
  control_port: Port.default(7434),
  worker_port: Port.default(7433),
  log_level: z.enum(["debug", "info", "warning", "error"]).default("info"),
  max_body_bytes: PositiveInt.max(16 * 1024 * 1024).default(256 * 1024),
});

/**
 * `[sandbox]`: the OS sandbox around every run. `required` (the default on Linux and macOS):
 * a run that cannot be sandboxed is refused, with the fix. `off`: runs are not sandboxed
 * (shown by doctor, status and in every audit record). Unset on Windows means `off`.
 */
export const SandboxSection = z.strictObject({
  mode: z.enum(["required", "off"]).optional(),
  /**
   * bwrap: after a run, the same sandbox is started for the next run with the same decision and
   * waits this long to be taken (`runner/sandbox/warm.ts`); 0 starts none ahead.
   */
  start_ahead_s: z.int().min(0).max(3600).default(60),
});

/** `[tailscale]`: how to reach the LocalAPI and how to treat grants. */
export const TailscaleSection = z.strictObject({
  /** Unix socket of tailscaled (default per OS). */
  socket: AbsolutePath.optional(),
  /** Explicit TCP LocalAPI URL (e.g. macOS GUI variants); overrides `socket`. */
  localapi_url: z.url().optional(),
  localapi_token: NonEmptyString.optional(),
  /**
   * `auto`: the `tailscale` CLI on Windows (tailscaled's named pipe), the LocalAPI socket or URL
   * elsewhere; `localapi`: always the socket/URL; `cli`: always the CLI.
   */
  transport: z.enum(["auto", "localapi", "cli"]).default("auto"),
  /** Absolute path of the `tailscale` CLI (default: found on PATH; Windows: the installer's). */
  cli_path: AbsolutePath.optional(),
  timeout_ms: PositiveInt.max(60_000).default(2000),
  /** Sources arrive from 127.0.0.1 in userspace networking; still whois'd. Off by default. */
  userspace_networking: z.boolean().default(false),
  /** When set, the whois CapMap entry with this name must also allow each request. */
  app_capability: z.string().regex(
    /^[a-z0-9.-]+\/[A-Za-z0-9._/-]+$/,
    'must look like "example.com/cap/cmesh"',
  )
    .optional(),
});

/** One peer I may delegate to. */
export const OutboundPeer = z.strictObject({
  /** MagicDNS name (full, or its first label) or tailnet IP of the peer. */
  name: NonEmptyString,
  /** Overrides resolution through LocalAPI status (a tailnet IP or host). */
  address: NonEmptyString.optional(),
  /**
   * The peer's Tailscale StableID (`nXXXXCNTRL`): only that node is ever sent tasks. Unset: the
   * node found on first successful contact is pinned (trust on first use).
   */
  stable_id: z.string().regex(
    /^[A-Za-z0-9_-]{1,64}$/,
    "must be a Tailscale StableID like nHbV3aLbL621CNTRL",
  ).optional(),
  port: Port.default(7433),
  profiles: z.array(Name).min(1, NON_EMPTY).default(["query"]),
  /** Glob patterns (`*` within a segment, `**` across) of cwds I allow myself to send. */
  cwd: z.array(AbsolutePath).min(1, NON_EMPTY).default(["/**"]),
});

/** `[outbound]`: who I may delegate to. */
export const OutboundSection = z.strictObject({
  /** Timeout sent with tasks that name none; unset = the peer's `inbound.default_timeout_s`. */
  default_timeout_s: PositiveInt.optional(),
  peers: z.array(OutboundPeer).default([]),
});

/** One inbound allow rule: who (any of peers/tags/logins) may do what. */
export const InboundRule = z.strictObject({
  /** Node names (short hostnames) this rule matches. */
  peers: z.array(NonEmptyString).default([]),
  tags: z.array(Tag).default([]),
  logins: z.array(NonEmptyString).default([]),
  profiles: z.array(Name).min(1, NON_EMPTY).default(["query"]),
  /** Allowed cwd roots: a task's cwd must be one of these or inside one (after realpath). */
  cwd: z.array(AbsolutePath).min(1, NON_EMPTY),
  runners: z.array(Name).min(1, NON_EMPTY).default(["claude", "codex"]),
  max_concurrent: PositiveInt.optional(),
  max_queue: z.int().nonnegative().optional(),
});

/** `[inbound]`: who may ask me for work. Disabled until configured. */
export const InboundSection = z.strictObject({
  enabled: z.boolean().default(false),
  max_concurrent: PositiveInt.max(256).default(2),
  max_queue: z.int().nonnegative().max(100_000).default(32),
  max_prompt_bytes: PositiveInt.max(4 * 1024 * 1024).default(64 * 1024),
  default_timeout_s: PositiveInt.default(1800),
  max_timeout_s: PositiveInt.default(7200),
  max_output_bytes: PositiveInt.default(8 * 1024 * 1024),
  allow: z.array(InboundRule).default([]),
});

/** One profile switch. */
export const ProfileSection = z.strictObject({
  enabled: z.boolean(),
  description: z.string().optional(),
  /** The most network this profile's runs get, whatever the runner says (stricter wins). */
  egress: EgressMode.optional(),
});

const ENV_VAR_NAME_RULE =
  "must be an environment variable name: letters, digits, '_', not starting with a digit";
const EnvVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, ENV_VAR_NAME_RULE);

/** Per-runner overrides of a manifest. */
export const RunnerSection = z.strictObject({
  enabled: z.boolean().default(true),
  /** Binary name on PATH or absolute path; overrides the manifest. */
  binary: NonEmptyString.optional(),
  /** Extra arguments appended after the profile's flags. */
  args: z.array(z.string()).default([]),
  /** Names of daemon env vars passed through to the runner (e.g. ANTHROPIC_API_KEY). */
  env_pass: z.array(EnvVarName).default([]),
  /** Fixed env vars set for the runner. */
  env: z.record(EnvVarName, z.string(), {
    error: (issue) => issue.code === "invalid_key" ? ENV_VAR_NAME_RULE : undefined,
  }).default({}),
  /** Network of this runner's runs; unset = the manifest's `egress.default`. */
  egress: EgressMode.optional(),
  /**
   * Destinations a `model` run may reach, replacing the manifest's `egress.hosts` (hosts of a
   * configured base URL are added either way).
   */
  egress_hosts: z.array(EgressHost).optional(),
});

/**
 * The built-in profiles with their safe switches. A function, so every parse gets fresh
 * objects: a caller mutating one loaded config must never change the defaults of the next.
 */
const defaultProfiles = (): Record<string, z.infer<typeof ProfileSection>> => ({
  query: { enabled: true, description: "read-only inspection" },
  edit: { enabled: false, description: "write files inside the cwd" },
  build: { enabled: false, description: "write files and run build/test commands" },
  full: { enabled: false, description: "everything the runner can do (opt-in only)" },
});

/** The whole `config.toml`. */
export const Config = z.strictObject({
  // Section defaults are functions (fresh objects per parse) for the same reason as above.
  node: NodeSection.default(() => ({})),
  daemon: DaemonSection.default(() => DaemonSection.parse({})),
  tailscale: TailscaleSection.default(() => TailscaleSection.parse({})),
  sandbox: SandboxSection.default(() => SandboxSection.parse({})),
  outbound: OutboundSection.default(() => OutboundSection.parse({})),
  inbound: InboundSection.default(() => InboundSection.parse({})),
  profiles: NamedTables(ProfileSection).default(defaultProfiles).transform((
    p,
  ): Record<string, z.infer<typeof ProfileSection>> => ({ ...defaultProfiles(), ...p })),
  runners: NamedTables(RunnerSection).default({}),
});
/** A validated config. */
export type Config = z.infer<typeof Config>;
/** One inbound rule, validated. */
export type InboundRule = z.infer<typeof InboundRule>;
/** One outbound peer, validated. */
export type OutboundPeer = z.infer<typeof OutboundPeer>;
