/**
 * @module
 * `service.env`: the file that holds the daemon's runner credentials (`ANTHROPIC_API_KEY=…`).
 * systemd reads it itself (`EnvironmentFile=`); launchd and the Windows Task Scheduler cannot
 * carry environment variables, so there the service starts `cmesh daemon --env-file <file>` and
 * the daemon loads it before anything reads its environment. Parsed with Node's `util.parseEnv`
 * (dotenv syntax: `KEY=value`, `# comments`, quotes, `export KEY=…`). A missing file is no
 * error (as systemd's `EnvironmentFile=-`); an unreadable, oversized or malformed one is.
 *
 * @example
 * ```ts
 * import { loadEnvFile } from "./env_file.ts";
 * const loaded = await loadEnvFile("/home/ann/.config/cmesh/service.env");
 * // loaded.names: ["ANTHROPIC_API_KEY"] (now set in Deno.env)
 * ```
 */
import { CmeshError } from "../protocol/errors.ts";
import { parseEnv } from "node:util";

/** Largest env file accepted. */
export const MAX_ENV_FILE_BYTES = 64 * 1024;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A problem with an env file: says which file and what to fix. */
export class EnvFileError extends CmeshError<"invalid_env_file"> {
  constructor(readonly file: string, message: string) {
    super("invalid_env_file", `${file}: ${message}`);
  }
}

/**
 * Parses env-file text into variables. Names must be shell-like; `CMESH_*` names are refused
 * (they belong to cmesh, and a runner never receives them).
 *
 * @throws {EnvFileError} for a name that is not `[A-Za-z_][A-Za-z0-9_]*` or a `CMESH_` name.
 */
export function parseEnvFile(file: string, text: string): Record<string, string> {
  const vars = parseEnv(text) as Record<string, string>;
  for (const name of Object.keys(vars)) {
    if (!NAME.test(name)) {
      throw new EnvFileError(file, `"${name}" is not a variable name (use NAME=value lines)`);
    }
    if (name.toUpperCase().startsWith("CMESH_")) {
      throw new EnvFileError(file, `${name}: CMESH_ variables cannot be set from this file`);
    }
  }
  return { ...vars };
}

/**
 * Loads `file` into this process's environment (later values win over the inherited ones, as
 * with systemd). Returns the names it set (never the values), or `missing: true`.
 *
 * @throws {EnvFileError} when the file exists but cannot be read, is too large or is malformed.
 */
export async function loadEnvFile(
  file: string,
): Promise<{ missing: boolean; names: string[] }> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { missing: true, names: [] };
    throw new EnvFileError(file, `cannot read it: ${(e as Error).message}`);
  }
  if (bytes.byteLength > MAX_ENV_FILE_BYTES) {
    throw new EnvFileError(file, `is larger than ${MAX_ENV_FILE_BYTES} bytes`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new EnvFileError(file, "is not UTF-8 text");
  }
  const vars = parseEnvFile(file, text);
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
  return { missing: false, names: Object.keys(vars).sort() };
}
