/**
 * @module
 * The runners this node can actually use: manifests (built-in + custom) joined with
 * `[runners.*]` config, binaries resolved to absolute paths. Resolved once in the daemon's main
 * thread (which may search PATH); the sandboxed worker then gets exactly these paths in its
 * `run` allowlist.
 */
import type { Config, EgressMode } from "../config/schema.ts";
import { builtinManifests, demoManifest } from "./builtin/mod.ts";
import { type RunnerManifest, RunnerSetupError } from "./manifest.ts";
import { resolveBinary } from "./probe.ts";
import { loadRunnerRegistry } from "./registry.ts";
import type { InstallPaths } from "./sandbox/host.ts";
import { windowsLaunch } from "./windows_launch.ts";

/** One usable runner. */
export interface ResolvedRunner {
  name: string;
  manifest: RunnerManifest;
  /** Absolute path of the binary (on Windows, node.exe for an npm `.cmd` shim). */
  binary: string;
  /** Arguments before the manifest's (on Windows, the script an npm shim runs). */
  prefixArgs: string[];
  /** Config extras. */
  args: string[];
  envPass: string[];
  envSet: Record<string, string>;
  /** Where the runner is installed (shown read-only in its sandbox); set by the daemon. */
  install?: InstallPaths;
  /** `runners.<name>.egress` (unset: the manifest's default). */
  egress?: EgressMode;
  /** `runners.<name>.egress_hosts` (unset: the manifest's hosts). */
  egressHosts?: string[];
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
  opts: { runnersDir?: string; pathEnv: string; os?: typeof Deno.build.os },
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
      const resolved = await resolveBinary(cfg?.binary ?? manifest.binary, opts.pathEnv, {
        runner: name,
        installHint: manifest.install_hint,
        os: opts.os,
      });
      const launch = (opts.os ?? Deno.build.os) === "windows"
        ? await windowsLaunch(name, resolved, {
          readTextFile: (p) => Deno.readTextFile(p),
          findNode: (dir) =>
            resolveBinary("node", `${dir};${opts.pathEnv}`, { runner: name, os: "windows" })
              .catch(() => null),
        })
        : { binary: resolved, prefixArgs: [] };
      runtime.available.push({
        name,
        manifest,
        binary: launch.binary,
        prefixArgs: launch.prefixArgs,
        args: cfg?.args ?? [],
        envPass: cfg?.env_pass ?? [],
        envSet: cfg?.env ?? {},
        egress: cfg?.egress,
        egressHosts: cfg?.egress_hosts,
      });
    } catch (e) {
      if (!(e instanceof RunnerSetupError)) throw e;
      runtime.unavailable.push({ name, reason: e.message });
    }
  }
  return runtime;
}
