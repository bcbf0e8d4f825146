/**
 * @module
 * The per-user control token: a random secret in a 0600 file in the state dir, written anew at
 * every daemon start and read by `cmesh mcp` and the CLI.
 *
 * Why anew: a client sends it to whatever listens on the control port. While no daemon holds the
 * port, another local user may listen there and catch it; once the daemon runs again, what was
 * caught opens nothing. (Made-up answers from such a listener are not stopped by this.)
 *
 * @example
 * ```ts
 * const token = await rotateControlToken("/home/ann/.local/state/cmesh");
 * ```
 */
import { join } from "node:path";

/** The token file's path inside a state dir. */
export function controlTokenPath(stateDir: string): string {
  return join(stateDir, "control.token");
}

/**
 * Writes a new random token (0600) in place of the old one, atomically (a reader sees the old
 * token or the new one, never a part): the daemon calls it at every start, holding its lock.
 *
 * @example
 * ```ts
 * const token = await rotateControlToken("/home/ann/.local/state/cmesh");
 * ```
 */
export async function rotateControlToken(stateDir: string): Promise<string> {
  const file = controlTokenPath(stateDir);
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  const token = bytes.toBase64({ alphabet: "base64url", omitPadding: true });
  const temp = `${file}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(temp, token + "\n", { mode: 0o600, createNew: true });
    await Deno.rename(temp, file);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
  return token;
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
