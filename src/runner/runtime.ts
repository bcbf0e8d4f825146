/**
 * @module
 * The runners this node can actually use: manifests (built-in + custom) joined with
 * `[runners.*]` config, binaries resolved to absolute paths. Resolved once in the daemon's main
 * thread (which may search PATH); the sandboxed worker then gets exactly these paths in its
 * `run` allowlist.
 */
import type { Config } from "../config/schema.ts";
import { builtinManifests, demoManifest } from "./builtin/mod.ts";
import { type RunnerManifest, RunnerSetupError } from "./manifest.ts";
import { resolveBinary } from "./probe.ts";
import { loadRunnerRegistry } from "./registry.ts";
import type { InstallPaths } from "./sandbox/host.ts";

/** One usable runner. */
export interface ResolvedRunner {
  name: string;
  manifest: RunnerManifest;
  /** Absolute path of the binary. */
  binary: string;
  /** Config extras. */
  args: string[];
  envPass: string[];
  envSet: Record<string, string>;
  /** Where the runner is installed (shown read-only in its sandbox); set by the daemon. */
  install?: InstallPaths;
}

/** Usable runners, and why the others are not. */
export interface RunnerRuntime {
  available: ResolvedRunner[];
  unavailable: { name: string; reason: string }[];
}

/**
 * Resolves every enabled runner. The `demo` runner is included only when `[runners.demo]` is
 * present in config (the local demo writes it); it needs no keys and is read-only.
 */
export async function resolveRunners(
  config: Config,
  opts: { runnersDir?: string; pathEnv: string },
): Promise<RunnerRuntime> {
  const builtins = builtinManifests().filter((m) => m.name !== "demo");
  if (config.runners.demo) builtins.push(demoManifest());
  const registry = await loadRunnerRegistry({ builtins, customDir: opts.runnersDir });
  const runtime: RunnerRuntime = { available: [], unavailable: [] };
  for (const [name, manifest] of registry) {
    const cfg = config.runners[name];
    if (cfg && !cfg.enabled) {
      runtime.unavailable.push({
        name,
        reason: `disabled in config (runners.${name}.enabled = false)`,
      });
      continue;
    }
    try {
      const binary = await resolveBinary(cfg?.binary ?? manifest.binary, opts.pathEnv, {
        runner: name,
        installHint: manifest.install_hint,
      });
      runtime.available.push({
        name,
        manifest,
        binary,
        args: cfg?.args ?? [],
        envPass: cfg?.env_pass ?? [],
        envSet: cfg?.env ?? {},
      });
    } catch (e) {
      if (!(e instanceof RunnerSetupError)) throw e;
      runtime.unavailable.push({ name, reason: e.message });
    }
  }
  return runtime;
}
