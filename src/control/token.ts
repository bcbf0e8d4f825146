/**
 * @module
 * The per-user control token: a random secret in a 0600 file in the state dir, created on
 * first start and read by `cmesh mcp` and the CLI.
 *
 * @example
 * ```ts
 * const token = await ensureControlToken("/home/ann/.local/state/cmesh");
 * ```
 */
import { join } from "node:path";

/** The token file's path inside a state dir. */
export function controlTokenPath(stateDir: string): string {
  return join(stateDir, "control.token");
}

/** Reads the token, creating it (0600) if absent. Refuses a file others can read. */
export async function ensureControlToken(stateDir: string): Promise<string> {
  const file = controlTokenPath(stateDir);
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  try {
    return await readControlToken(stateDir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const token = new Uint8Array(32);
  crypto.getRandomValues(token);
  const text = token.toBase64({ alphabet: "base64url", omitPadding: true });
  await Deno.writeTextFile(file, text + "\n", { mode: 0o600, createNew: true });
  return text;
}

/** Reads the token; throws NotFound when the daemon has never started with this state dir. */
export async function readControlToken(stateDir: string): Promise<string> {
  const file = controlTokenPath(stateDir);
  if (Deno.build.os !== "windows") {
    const st = await Deno.stat(file);
    if (st.mode !== null && (st.mode & 0o077) !== 0) {
      throw new Error(
        `${file} is readable by other users (mode ${
          (st.mode & 0o777).toString(8)
        }); run: chmod 600 ${file}`,
      );
    }
  }
  return (await Deno.readTextFile(file)).trim();
}
