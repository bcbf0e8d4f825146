/**
 * @module
 * The runner manifest: a declarative description of one coding-agent CLI (binary, version
 * probe, profile → flags, how the prompt is passed, how output is parsed, how it is
 * cancelled, which env vars it gets). Built-ins live in `builtin/`; custom manifests are
 * TOML or JSON files loaded with {@link loadManifestFile}.
 *
 * Every key is documented in `docs/runner-manifests.md`.
 *
 * @example
 * ```ts
 * import { parseManifest } from "./manifest.ts";
 * const m = parseManifest({
 *   name: "echo", binary: "echo", profiles: { query: { args: [] } },
 *   prompt: { via: "arg" }, output: "text",
 * }, "inline");
 * console.log(m.cancel.signals); // ["SIGINT", "SIGTERM", "SIGKILL"]
 * ```
 */
import { CmeshError } from "../protocol/errors.ts";
import { formatIssues } from "../util/zod_issues.ts";
import { z } from "../deps/zod.ts";
import { parse as parseToml, TomlError } from "smol-toml";
import { isAbsolutePath, Name } from "../protocol/task.ts";
import type { TaskError, TaskErrorCode } from "../protocol/task_errors.ts";
import { EgressHost, EgressMode } from "../config/schema.ts";

/** A setup problem in the runner layer: bad manifest, unknown profile, missing binary, ... */
export class RunnerSetupError extends CmeshError<TaskErrorCode> {
  /**
   * @param code machine-readable code (`runner_*`), e.g. `runner_unknown_profile`
   * @param message what is wrong and what to change
   */
  constructor(code: TaskErrorCode, message: string) {
    super(code, message);
  }

  /** The wire form of this error. */
  toTaskError(): TaskError {
    return { code: this.code, message: this.message };
  }
}

/** An environment variable name (portable subset). */
export const EnvName = z.string().regex(
  /^[A-Za-z_][A-Za-z0-9_]*$/,
  "must be an environment variable name: letters, digits, '_', not starting with a digit",
);

/** A command-line argument: any string without NUL (NUL cannot cross `execve`). */
const Arg = z.string().refine((s) => !s.includes("\0"), { message: "must not contain NUL" });

/** Signals a manifest may ask the supervisor to send, in order. */
export const CANCEL_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGKILL"] as const;
/** A cancel signal. */
export type CancelSignal = typeof CANCEL_SIGNALS[number];

/** Output formats with a parser in `parsers/`. */
export const OUTPUT_FORMATS = ["claude-json", "claude-stream-json", "codex-jsonl", "text"] as const;
/** An output format. */
export type OutputFormat = typeof OUTPUT_FORMATS[number];

/** The only placeholder substituted inside manifest args (base_args, profile args). */
export const CWD_PLACEHOLDER = "{cwd}";
/** The placeholder substituted inside `env_args`: the variable's value, quoted. */
export const ENV_VALUE_PLACEHOLDER = "{value}";

/** How the prompt reaches the CLI. */
export const PromptPassing = z.discriminatedUnion("via", [
  z.strictObject({
    via: z.literal("arg"),
    /**
     * Put `--` before the prompt so it can never be read as a flag (and so a variadic
     * option such as Claude's `--tools <tools...>` cannot swallow it). Default true; with
     * false, prompts starting with `-` are refused.
     */
    end_of_options: z.boolean().default(true),
  }),
  z.strictObject({
    via: z.literal("stdin"),
    /** Args appended last that tell the CLI to read the prompt from stdin (codex: `-`). */
    args: z.array(Arg).default([]),
  }),
]);
/** Prompt passing. */
export type PromptPassing = z.infer<typeof PromptPassing>;

/** One profile's flags. */
export const ProfileSpec = z.strictObject({ args: z.array(Arg) });
/** A profile spec. */
export type ProfileSpec = z.infer<typeof ProfileSpec>;

/**
 * What network a runner needs. A custom manifest that says nothing gets `none`: a runner
 * cmesh knows nothing about reaches nothing until its manifest or the config names hosts.
 */
export const ManifestEgress = z.strictObject({
  /** Mode when the config sets none (`runners.<name>.egress`). */
  default: EgressMode.default("none"),
  /** `host:port` destinations a `model` run may reach (the config may replace them). */
  hosts: z.array(EgressHost).default([]),
  /** Env vars holding a base URL whose host is allowed too (e.g. `ANTHROPIC_BASE_URL`). */
  url_env: z.array(EnvName).default([]),
  /**
   * Keys inside config args whose `key="URL"` / `key=URL` value is a base URL whose host is
   * allowed too (codex: `base_url` in `-c model_providers.x={base_url="..."}`).
   */
  url_arg_keys: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/, "must be a lowercase key name"))
    .default([]),
});
/** A manifest's egress section. */
export type ManifestEgress = z.infer<typeof ManifestEgress>;

/** The runner manifest schema. Strict: unknown keys are errors. */
export const RunnerManifest = z.strictObject({
  name: Name,
  description: z.string().default(""),
  /** A name looked up on PATH, or an absolute path. */
  binary: z.string().min(1, "must not be empty").refine(
    (b) => !b.includes("\0") && (isAbsolutePath(b) || !/[\\/]/.test(b)),
    { message: "must be a bare name looked up on PATH or an absolute path (no relative paths)" },
  ),
  /** Shown when the binary is not found, e.g. "install it with `npm i -g @openai/codex`". */
  install_hint: z.string().optional(),
  version_args: z.array(Arg).default(["--version"]),
  base_args: z.array(Arg).default([]),
  profiles: z.record(Name, ProfileSpec).refine((p) => Object.keys(p).length > 0, {
    message: "must define at least one profile",
  }),
  prompt: PromptPassing,
  output: z.enum(OUTPUT_FORMATS),
  cancel: z.strictObject({
    signals: z.array(z.enum(CANCEL_SIGNALS)).min(1).refine((s) => s.at(-1) === "SIGKILL", {
      message: "must end with SIGKILL so a stuck runner always dies",
    }),
    grace_ms: z.int().min(0).max(600_000),
  }).default({ signals: ["SIGINT", "SIGTERM", "SIGKILL"], grace_ms: 2000 }),
  env: z.strictObject({
    pass: z.array(
      EnvName.refine((n) => !n.toUpperCase().startsWith("CMESH_"), {
        message: "CMESH_* variables belong to cmesh and are never passed to runners",
      }),
    ).default([]),
    set: z.record(EnvName, z.string()).default({}),
  }).default({ pass: [], set: {} }),
  state_dir_env: EnvName.optional(),
  /**
   * Args added after `base_args` when the runner's environment (after `env.pass`/`env.set`
   * and config) has the variable non-empty; `{value}` in them becomes the value as a quoted
   * TOML/JSON string. For CLIs that read a setting from a flag, not from the variable (codex
   * ignores `OPENAI_BASE_URL`).
   */
  env_args: z.record(EnvName, z.array(Arg)).default({}),
  /** The network of a run (docs/runner-manifests.md, "Egress"). */
  egress: ManifestEgress.default(() => ManifestEgress.parse({})),
});
/** A validated runner manifest (defaults filled in). */
export type RunnerManifest = z.infer<typeof RunnerManifest>;
/** A runner manifest as written (defaults optional). */
export type RunnerManifestInput = z.input<typeof RunnerManifest>;

/**
 * Validates a parsed manifest object.
 *
 * @param value the decoded TOML/JSON value
 * @param source where it came from (a file path), named in errors
 * @returns the manifest with defaults filled in
 * @throws {RunnerSetupError} `runner_manifest_invalid`, one line per problem:
 *   `runners/x.toml: profiles.query.args: expected array, got "-p"`
 */
export function parseManifest(value: unknown, source: string): RunnerManifest {
  const result = RunnerManifest.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const lines = formatIssues(result.error.issues, { docs: "docs/runner-manifests.md" }).map((l) =>
    `${source}: ${l}`
  );
  throw new RunnerSetupError("runner_manifest_invalid", lines.join("\n"));
}

/**
 * Decodes manifest text (TOML or JSON, by `format`) and validates it.
 *
 * @throws {RunnerSetupError} `runner_manifest_invalid` for syntax and schema errors, naming
 *   `source` (and line/column for TOML syntax errors)
 */
export function parseManifestText(
  text: string,
  format: "toml" | "json",
  source: string,
): RunnerManifest {
  let value: unknown;
  try {
    value = format === "toml" ? parseToml(text) : JSON.parse(text);
  } catch (e) {
    const detail = e instanceof TomlError
      ? `TOML syntax error at line ${e.line}, column ${e.column}: ${firstLine(e.message)}`
      : `${format.toUpperCase()} syntax error: ${e instanceof Error ? e.message : String(e)}`;
    throw new RunnerSetupError("runner_manifest_invalid", `${source}: ${detail}`);
  }
  return parseManifest(value, source);
}

function firstLine(s: string): string {
  return s.split("\n")[0].trim();
}

/**
 * Reads and validates a manifest file; `.toml` is parsed as TOML, `.json` as JSON.
 *
 * @example
 * ```ts
 * import { loadManifestFile } from "./manifest.ts";
 * const m = await loadManifestFile("examples/runners/custom.toml");
 * console.log(Object.keys(m.profiles));
 * ```
 * @throws {RunnerSetupError} `runner_manifest_invalid` (unreadable file, unknown extension,
 *   syntax or schema error), always naming the file
 */
export async function loadManifestFile(path: string): Promise<RunnerManifest> {
  const format = path.endsWith(".toml") ? "toml" : path.endsWith(".json") ? "json" : null;
  if (format === null) {
    throw new RunnerSetupError(
      "runner_manifest_invalid",
      `${path}: a runner manifest must be a .toml or .json file`,
    );
  }
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new RunnerSetupError(
      "runner_manifest_invalid",
      `${path}: cannot read runner manifest: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return parseManifestText(text, format, path);
}
