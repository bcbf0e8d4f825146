/**
 * @module
 * Whether something is at a path, for probes that only need a yes or no (a socket, an agent's
 * config dir).
 *
 * @example
 * ```ts
 * import { pathExists } from "./path_exists.ts";
 * await pathExists("/var/run/tailscale/tailscaled.sock"); // true when tailscaled runs
 * ```
 */

/**
 * True when `path` exists (following symlinks); false when it does not or cannot be examined.
 *
 * @example
 * ```ts
 * await pathExists("/nonexistent"); // false
 * ```
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
