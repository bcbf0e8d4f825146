/**
 * @module
 * Turning zod issues and TOML syntax errors into messages that name the file, the key path
 * and what is wrong, e.g. `inbound.allow[1].cwd[0]: must be an absolute path, got "srv/app"`.
 */
import { CmeshError } from "../protocol/errors.ts";

/** A config problem, located. `problems` holds one line per issue. */
export class ConfigError extends CmeshError<"invalid_config"> {
  constructor(readonly file: string, readonly problems: string[]) {
    const lines = problems.map((p) => `  - ${p}`).join("\n");
    super("invalid_config", `${file}: invalid configuration\n${lines}`);
  }
}
