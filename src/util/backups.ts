/**
 * @module
 * Rotation of the timestamped backups cmesh makes before editing a file it does not own alone
 * (`config.toml.bak-<time>` from the setup wizard and `config init --force`,
 * `<agent config>.cmesh-bak-<time>` from `install-mcp`): only the newest few are kept, so
 * repeated runs do not pile up copies (which may hold tokens) next to the file.
 *
 * @example
 * ```ts
 * import { pruneBackups } from "./backups.ts";
 * // after copying config.toml to config.toml.bak-2026-01-02T03-04-05-678Z:
 * await pruneBackups("/home/ann/.config/cmesh/config.toml", ".bak-");
 * ```
 */
import { basename, dirname, join } from "node:path";

/** How many backups of one file are kept. */
export const BACKUPS_KEPT = 5;

/**
 * Removes all but the newest `keep` backups named `<file><marker><ISO time>`. The names sort
 * by time (ISO timestamps with `:`/`.` replaced keep their order). Failures to list or remove
 * are ignored: rotation must never fail the edit it follows.
 *
 * @returns the backups removed
 */
export async function pruneBackups(
  file: string,
  marker: string,
  keep = BACKUPS_KEPT,
): Promise<string[]> {
  const dir = dirname(file);
  const prefix = `${basename(file)}${marker}`;
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.startsWith(prefix)) names.push(e.name);
    }
  } catch {
    return [];
  }
  names.sort();
  const removed: string[] = [];
  for (const name of names.slice(0, Math.max(0, names.length - keep))) {
    try {
      await Deno.remove(join(dir, name));
      removed.push(join(dir, name));
    } catch { /* best effort */ }
  }
  return removed;
}
