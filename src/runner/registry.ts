/**
 * @module
 * The set of runners a daemon knows: built-ins plus custom manifests from
 * `<config dir>/runners/*.toml` (or `.json`). A custom manifest must not silently replace a
 * built-in: that is an error unless the config explicitly allows overriding that name.
 *
 * @example
 * ```ts
 * import { loadRunnerRegistry } from "./registry.ts";
 * import { builtinManifests } from "./builtin/mod.ts";
 * const runners = await loadRunnerRegistry({
 *   builtins: builtinManifests(), customDir: "/home/u/.config/cmesh/runners",
 * });
 * runners.get("claude")?.binary; // "claude"
 * ```
 */
import { join } from "node:path";
import { loadManifestFile, type RunnerManifest, RunnerSetupError } from "./manifest.ts";

/** Options of {@link loadRunnerRegistry}. */
export interface LoadRunnerRegistryOptions {
  /** Built-in manifests (see `builtin/mod.ts`). */
  builtins: readonly RunnerManifest[];
  /** Directory of custom manifests; a missing directory means "none". */
  customDir?: string;
  /** Built-in names a custom manifest may replace (explicit opt-in from config.toml). */
  overrides?: readonly string[];
}

/** Runner name → manifest. */
export type RunnerRegistry = Map<string, RunnerManifest>;

async function listManifestFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if ((entry.isFile || entry.isSymlink) && /\.(toml|json)$/.test(entry.name)) {
        names.push(entry.name);
      }
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw new RunnerSetupError(
      "runner_manifest_invalid",
      `${dir}: cannot read the runner manifest directory: ${
        e instanceof Error ? e.message : String(e)
      }`,
    );
  }
  return names.sort();
}

/**
 * Loads built-ins and custom manifests into one map.
 *
 * @throws {RunnerSetupError} `runner_manifest_invalid` for a bad file, or a file whose name
 *   differs from its manifest `name`; `runner_name_clash` for two built-ins or two files with
 *   one name, or a custom manifest named like a built-in that is not listed in `overrides`
 */
export async function loadRunnerRegistry(
  options: LoadRunnerRegistryOptions,
): Promise<RunnerRegistry> {
  const registry: RunnerRegistry = new Map();
  for (const manifest of options.builtins) {
    if (registry.has(manifest.name)) {
      throw new RunnerSetupError(
        "runner_name_clash",
        `two built-in runners are named '${manifest.name}'`,
      );
    }
    registry.set(manifest.name, manifest);
  }
  if (options.customDir === undefined) return registry;
  const allowed = new Set(options.overrides ?? []);
  const sources = new Map<string, string>();
  for (const file of await listManifestFiles(options.customDir)) {
    const path = join(options.customDir, file);
    const manifest = await loadManifestFile(path);
    const stem = file.replace(/\.(toml|json)$/, "");
    if (manifest.name !== stem) {
      throw new RunnerSetupError(
        "runner_manifest_invalid",
        `${path}: declares name '${manifest.name}' but the file is named '${file}'; name the file ${manifest.name}.toml (or change name)`,
      );
    }
    const earlier = sources.get(manifest.name);
    if (earlier !== undefined) {
      throw new RunnerSetupError(
        "runner_name_clash",
        `${path}: runner '${manifest.name}' is already defined by ${earlier}; keep one of them`,
      );
    }
    if (registry.has(manifest.name) && !allowed.has(manifest.name)) {
      throw new RunnerSetupError(
        "runner_name_clash",
        `${path}: defines '${manifest.name}', which is a built-in runner; give the custom runner another name (replacing a built-in needs an explicit override, which this configuration does not grant)`,
      );
    }
    sources.set(manifest.name, path);
    registry.set(manifest.name, manifest);
  }
  return registry;
}
