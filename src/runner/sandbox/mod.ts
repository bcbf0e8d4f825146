/**
 * @module
 * The sandbox of one run, from the node's {@link SandboxSettings} (mode, what the probe found,
 * host facts) and the admission decision: creates the private HOME and TMPDIR, wraps the
 * runner's argv (and the git evidence probes') in bwrap or sandbox-exec, and removes the
 * private dirs afterwards. With `[sandbox] mode = "off"` nothing is wrapped, and says so.
 *
 * @example
 * ```ts
 * import { prepareRunSandbox, type SandboxSettings } from "./mod.ts";
 * declare const settings: SandboxSettings; // from the config and the host probe at start-up
 * const sb = prepareRunSandbox(settings, {
 *   profile: "query", cwd: "/srv/app", runDir: "/var/lib/cmesh/runs/r1",
 *   installPaths: [], configDirs: [], network: { kind: "host" },
 * });
 * if (sb.ok && sb.sandbox) {
 *   const argv = sb.sandbox.wrap(["/usr/bin/claude", "-p", "hi"]);
 *   await sb.sandbox.cleanup();
 * }
 * ```
 */
import { type SandboxAvailability, type SandboxKind } from "./availability.ts";
import { bwrapArgv } from "./bwrap.ts";
import type { EtcMirror } from "./etc_mirror.ts";
import { seatbeltArgv } from "./seatbelt.ts";
import { socketDenyProgram } from "./seccomp.ts";
import {
  type HostLayout,
  sandboxEnv,
  type SandboxNetwork,
  type SandboxSpec,
  sandboxSpecFor,
  type SandboxSpecInput,
  sandboxViewFor,
} from "./spec.ts";

/** `[sandbox] mode`. */
export type SandboxMode = "required" | "off";

/** What the node knows about sandboxing, resolved once in the daemon's main thread. */
export interface SandboxSettings {
  mode: SandboxMode;
  availability: SandboxAvailability;
  host: HostLayout;
  /**
   * bwrap: the `/etc` mirror runs see (made in the worker thread, which keeps it; it does not
   * cross threads). Absent: each `/etc` entry is bound.
   */
  etcMirror?: EtcMirror;
}

/** The sandbox state recorded in the audit and shown by doctor/status. */
export type SandboxState = SandboxKind | "off" | "unavailable";

/** The effective mode: the configured one, else `required` (`off` on Windows, with a warning). */
export function effectiveSandboxMode(
  configured: SandboxMode | undefined,
  os: string = Deno.build.os,
): SandboxMode {
  return configured ?? (os === "windows" ? "off" : "required");
}

/** The state runs get under `settings`. */
export function sandboxState(settings: SandboxSettings): SandboxState {
  if (settings.mode === "off") return "off";
  return settings.availability.ok ? settings.availability.kind : "unavailable";
}

/** Why a required sandbox cannot be used, with the fix; null when runs can start. */
export function sandboxRefusal(settings: SandboxSettings): string | null {
  if (settings.mode === "off" || settings.availability.ok) return null;
  const a = settings.availability;
  return `[sandbox] mode = "required" but runs cannot be sandboxed: ${a.reason}; fix: ${a.fix}`;
}

/**
 * The sandbox as `cmesh status` and the daemon log show it: the state and one sentence.
 *
 * @example
 * ```ts
 * declare const settings: SandboxSettings;
 * sandboxSummary(settings); // { state: "off", detail: "runs are NOT sandboxed ([sandbox] mode = \"off\")" }
 * ```
 */
export function sandboxSummary(settings: SandboxSettings): { state: SandboxState; detail: string } {
  const state = sandboxState(settings);
  const a = settings.availability;
  if (state === "off") return { state, detail: 'runs are NOT sandboxed ([sandbox] mode = "off")' };
  if (!a.ok) return { state, detail: `tasks are refused: ${a.reason}; fix: ${a.fix}` };
  return { state, detail: `every run is sandboxed with ${a.kind} (${a.bin})` };
}

/** A prepared sandbox for one run. */
export interface RunSandbox {
  kind: SandboxKind;
  spec: SandboxSpec;
  /** HOME/TMPDIR overrides for the runner's environment. */
  env: Record<string, string>;
  /** The runner's argv wrapped in the sandbox. */
  wrap(command: readonly string[]): string[];
  /**
   * A git evidence probe's argv, wrapped in a read-only, offline view of the cwd, or of the
   * work tree's top `repoTop` when the cwd lies below it (git needs the `.git` above).
   */
  wrapGit(command: readonly string[], repoTop?: string): string[];
  /**
   * What a {@link RunSandbox.wrapGit} argv must get on its stdin (then closed): the seccomp
   * program of a `no_sockets` git sandbox; null: nothing (stdin stays `/dev/null`).
   */
  gitStdin: Uint8Array | null;
  /** Removes the private dirs (never throws). */
  cleanup(): Promise<void>;
}

/**
 * macOS has no network namespace: Seatbelt can allow or deny the network, not confine a run to
 * its model hosts through cmesh's proxy. A `model` run is refused there (fail closed) with the
 * choice the user has to make.
 */
export const SEATBELT_NO_MODEL_EGRESS =
  'egress "model" cannot be enforced on macOS (Seatbelt has no network namespace to route a run ' +
  'through the model proxy); set runners.<name>.egress = "host" (files stay sandboxed, the ' +
  'network is the host\'s) or "none" in config.toml';

/** The `/etc` entries the worker's own git calls see (when the host has them). */
export const GIT_ETC: readonly string[] = ["/etc/ld.so.cache"];

/** Inputs of {@link prepareRunSandbox}: the admission decision and the runner's paths. */
export type RunSandboxInput = Omit<SandboxSpecInput, "host"> & { network: SandboxNetwork };

/**
 * Prepares the sandbox of one run: `{ok: true, sandbox: null}` when the mode is `off`,
 * `{ok: false, reason}` when it is required but unusable (or the private dirs cannot be made).
 */
export function prepareRunSandbox(
  settings: SandboxSettings,
  input: RunSandboxInput,
): { ok: true; sandbox: RunSandbox | null } | { ok: false; reason: string } {
  if (settings.mode === "off") return { ok: true, sandbox: null };
  const refusal = sandboxRefusal(settings);
  const a = settings.availability;
  if (refusal !== null || !a.ok) return { ok: false, reason: refusal ?? "sandbox unavailable" };
  if (a.kind === "seatbelt" && input.network.kind === "model") {
    return { ok: false, reason: SEATBELT_NO_MODEL_EGRESS };
  }
  // The mirror is refreshed here, at the moment of use (a confined bwrap view only).
  const etcView = a.kind === "bwrap" && sandboxViewFor(input.profile) === "confined"
    ? settings.etcMirror?.view() ?? null
    : null;
  const spec = sandboxSpecFor({ ...input, host: settings.host, etcView });
  // The worker's git calls see less than a runner: no network, `/dev/null` as the only device,
  // no `/proc`, and of `/etc` only the dynamic linker's cache (git reads no other file there
  // with the hardened env; each entry is one more mount at every start, on the run's critical
  // path). No network is a seccomp program refusing sockets where bwrap can apply one (a network
  // namespace of their own would be the dearest part of their start), and git is PID 1 itself.
  const gitStdin = a.kind === "bwrap" && a.seccomp === true ? socketDenyProgram() : null;
  const gitSpec = sandboxSpecFor({
    profile: "query",
    cwd: input.cwd,
    runDir: input.runDir,
    installPaths: [],
    configDirs: [],
    host: { ...settings.host, etc: settings.host.etc.filter((p) => GIT_ETC.includes(p)) },
    network: gitStdin === null ? { kind: "none" } : { kind: "no_sockets" },
    devices: "null",
    proc: false,
    // The probe that said yes to the program ran it this way too.
    init: gitStdin === null,
  });
  try {
    // Synchronous: three tiny mkdirs on the run's critical path, not three trips through the
    // event loop behind whatever else the worker thread has queued. They are in the daemon's
    // own state dir, which its SQLite store already uses synchronously.
    for (const dir of [input.runDir, spec.home, spec.tmp]) {
      Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
  } catch (e) {
    return { ok: false, reason: `cannot create the run's private dirs: ${(e as Error).message}` };
  }
  const wrapWith = (s: SandboxSpec, command: readonly string[]) =>
    a.kind === "bwrap" ? bwrapArgv(a.bin, s, command) : seatbeltArgv(s, command, a.bin);
  return {
    ok: true,
    sandbox: {
      kind: a.kind,
      spec,
      env: sandboxEnv(spec),
      wrap: (command) => wrapWith(spec, command),
      wrapGit: (command, repoTop) =>
        wrapWith(
          repoTop === undefined || repoTop === input.cwd ? gitSpec : {
            ...gitSpec,
            extension: {
              ...gitSpec.extension,
              binds: [{ source: repoTop, dest: repoTop, writable: false }],
            },
          },
          command,
        ),
      gitStdin,
      cleanup: () => Deno.remove(input.runDir, { recursive: true }).catch(() => {}),
    },
  };
}
