/**
 * @module
 * Turning zod issues and TOML syntax errors into messages that name the file, the key path
 * and what is wrong, e.g. `inbound.allow[1].cwd[0]: must be an absolute path, got "srv/app"`.
 */

/** A config problem, located. `problems` holds one line per issue. */
export class ConfigError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file}: invalid configuration\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export { formatIssues, formatKeyPath } from "../util/zod_issues.ts";
