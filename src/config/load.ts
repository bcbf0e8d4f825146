/**
 * @module
 * Reading, validating and rendering `config.toml`. A missing file means "all defaults"
 * (inbound disabled, `query` only); any present file must be fully valid.
 *
 * @example
 * ```ts
 * import { parseConfigText } from "./load.ts";
 * const cfg = parseConfigText('[inbound]\nenabled = false\n', "config.toml");
 * cfg.inbound.enabled; // false
 * ```
 */
import { parse as parseToml, TomlError } from "smol-toml";
import { Config } from "./schema.ts";
import { formatIssues } from "../util/zod_issues.ts";
import { ConfigError } from "./errors.ts";

/** Checks the rules that span sections (e.g. a rule may only name enabled profiles). */
export function crossFieldProblems(cfg: Config): string[] {
  const problems: string[] = [];
  const enabled = (name: string) => cfg.profiles[name]?.enabled === true;
  const profileProblem = (where: string, name: string) => {
    if (!(name in cfg.profiles)) {
      return `${where}: unknown profile "${name}" (known: ${Object.keys(cfg.profiles).join(", ")})`;
    }
    if (!enabled(name)) {
      return `${where}: profile "${name}" is not enabled (set profiles.${name}.enabled = true to use it)`;
    }
    return null;
  };
  cfg.inbound.allow.forEach((rule, i) => {
    if (rule.peers.length + rule.tags.length + rule.logins.length === 0) {
      problems.push(
        `inbound.allow[${i}]: matches nobody: give at least one of peers, tags, logins`,
      );
    }
    rule.profiles.forEach((p, j) => {
      const bad = profileProblem(`inbound.allow[${i}].profiles[${j}]`, p);
      if (bad) problems.push(bad);
    });
  });
  cfg.outbound.peers.forEach((peer, i) => {
    peer.profiles.forEach((p, j) => {
      if (!(p in cfg.profiles)) {
        problems.push(`outbound.peers[${i}].profiles[${j}]: unknown profile "${p}"`);
      }
    });
  });
  const names = new Set<string>();
  cfg.outbound.peers.forEach((peer, i) => {
    if (names.has(peer.name)) {
      problems.push(`outbound.peers[${i}].name: duplicate peer "${peer.name}"`);
    }
    names.add(peer.name);
  });
  if (cfg.inbound.default_timeout_s > cfg.inbound.max_timeout_s) {
    problems.push(
      `inbound.default_timeout_s: ${cfg.inbound.default_timeout_s} is above inbound.max_timeout_s (${cfg.inbound.max_timeout_s})`,
    );
  }
  if (cfg.daemon.control_port === cfg.daemon.worker_port) {
    problems.push(
      `daemon.control_port: must differ from daemon.worker_port (${cfg.daemon.worker_port})`,
    );
  }
  return problems;
}

/** Validates an already-parsed TOML/JSON object. Throws {@link ConfigError}. */
export function validateConfig(raw: unknown, file: string): Config {
  const parsed = Config.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    throw new ConfigError(
      file,
      formatIssues(parsed.error.issues, { docs: "docs/configuration.md" }),
    );
  }
  const problems = crossFieldProblems(parsed.data);
  if (problems.length) throw new ConfigError(file, problems);
  return parsed.data;
}

/** Parses TOML text and validates it. Syntax errors name the line and column. */
export function parseConfigText(text: string, file: string): Config {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split("\n")[0];
      throw new ConfigError(file, [
        `line ${e.line}, column ${e.column}: TOML syntax error: ${first}`,
      ]);
    }
    throw e;
  }
  return validateConfig(raw, file);
}

/** What `loadConfig` found. */
export interface LoadedConfig {
  config: Config;
  file: string;
  /** False when the file does not exist and defaults are in use. */
  exists: boolean;
}

/** Reads `file` (defaults if it does not exist) and validates it. */
export async function loadConfig(file: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { config: validateConfig({}, file), file, exists: false };
    }
    throw new ConfigError(file, [`cannot read: ${(e as Error).message}`]);
  }
  return { config: parseConfigText(text, file), file, exists: true };
}
