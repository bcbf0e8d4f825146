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
import type { EtcMirror, EtcView } from "./etc_mirror.ts";
import { seatbeltArgv } from "./seatbelt.ts";
import { socketDenyProgram } from "./seccomp.ts";
import { warmLauncher } from "./warm_launcher.ts";
import {
  type HostLayout,
  type SandboxBind,
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
  /** `command` as the sandbox runs it: behind the network's wrapper, if any. */
  inner(command: readonly string[]): string[];
  /** The argv of warm starts of this sandbox (`warm.ts`); null: it starts cold only. */
  warm: WarmArgv | null;
  /** Removes the private dirs (never throws). */
  cleanup(): Promise<void>;
}

/** The argv of a sandbox's warm starts, each with control dir `ctl` bound writable. */
export interface WarmArgv {
  /** The control dir in this run dir. */
  ctl: string;
  /** The runner's sandbox, its launcher checking `checks` (the cwd). */
  runner(ctl: string, checks: readonly string[]): string[];
  /** Git's sandbox (see {@link RunSandbox.wrapGit}), its launcher checking `checks`. */
  git(ctl: string, checks: readonly string[], repoTop?: string): string[];
  /** The key of git's sandbox over `repoTop`: which warm git sandbox a call may take. */
  gitKey(repoTop?: string): string;
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
 * A run's sandbox as decided, before its run dir is chosen: `key` says which warm sandbox
 * (`warm.ts`) it may take (the whole bwrap argv, the run dir left out), and `at` makes it for one
 * run dir (a warm sandbox's, or a fresh one).
 */
export interface SandboxPlan {
  kind: SandboxKind;
  /** Equal keys: the same sandbox in every respect but the run dir. Null: no warm start. */
  key: string | null;
  /** The sandbox with its private dirs in `runDir` (made now). */
  at(runDir: string): { ok: true; sandbox: RunSandbox } | { ok: false; reason: string };
}

/** `spec` with one more bind after its own. */
function withBind(spec: SandboxSpec, bind: SandboxBind): SandboxSpec {
  return { ...spec, extension: { ...spec.extension, binds: [...spec.extension.binds, bind] } };
}

/** Stands in for the run dir in a key: no real path holds a NUL. */
const RUN_DIR_IN_KEY = "/\0run";

/**
 * How a run's sandbox shows `/etc`, with the mirror brought up to date now: null where the mirror
 * is not used (not bwrap, a `full` profile that sees the host's `/etc`, no mirror kept).
 * {@link planRunSandbox} calls it unless handed a view; the executor calls it while the decision is
 * taken again at dequeue, when the worker thread waits for the cwd's look anyway.
 *
 * @example
 * ```ts
 * declare const settings: SandboxSettings;
 * const etcView = etcViewFor(settings, "query"); // { dir, binds } or null
 * // planRunSandbox(settings, { ...input, etcView }) then uses it as it is
 * ```
 */
export function etcViewFor(settings: SandboxSettings, profile: string): EtcView | null {
  const a = settings.availability;
  if (settings.mode === "off" || !a.ok || a.kind !== "bwrap") return null;
  return sandboxViewFor(profile) === "confined" ? settings.etcMirror?.view() ?? null : null;
}

/**
 * Plans the sandbox of one run: `{ok: true, plan: null}` when the mode is `off`,
 * `{ok: false, reason}` when it is required but unusable.
 */
export function planRunSandbox(
  settings: SandboxSettings,
  input: Omit<RunSandboxInput, "runDir">,
): { ok: true; plan: SandboxPlan | null } | { ok: false; reason: string } {
  if (settings.mode === "off") return { ok: true, plan: null };
  const refusal = sandboxRefusal(settings);
  const a = settings.availability;
  if (refusal !== null || !a.ok) return { ok: false, reason: refusal ?? "sandbox unavailable" };
  if (a.kind === "seatbelt" && input.network.kind === "model") {
    return { ok: false, reason: SEATBELT_NO_MODEL_EGRESS };
  }
  // The mirror is refreshed here, at the moment of use, unless the caller just did (etcViewFor).
  const etcView = input.etcView !== undefined ? input.etcView : etcViewFor(settings, input.profile);
  const specAt = (runDir: string) =>
    sandboxSpecFor({ ...input, runDir, host: settings.host, etcView });
  // The worker's git calls see less than a runner: no network, `/dev/null` as the only device,
  // no `/proc`, and of `/etc` only the dynamic linker's cache (git reads no other file there
  // with the hardened env; each entry is one more mount at every start, on the run's critical
  // path). No network is a seccomp program refusing sockets where bwrap can apply one (a network
  // namespace of their own would be the dearest part of their start), and git is PID 1 itself.
  const gitStdin = a.kind === "bwrap" && a.seccomp === true ? socketDenyProgram() : null;
  // A warm start keeps its stdin for the launcher's `go` (warm.ts), so its bwrap cannot read a
  // program there: its own network namespace instead, made ahead, off the run's path.
  const gitSpecAt = (runDir: string, repoTop: string | undefined, warm = false) => {
    const spec = sandboxSpecFor({
      profile: "query",
      cwd: input.cwd,
      runDir,
      installPaths: [],
      configDirs: [],
      host: { ...settings.host, etc: settings.host.etc.filter((p) => GIT_ETC.includes(p)) },
      network: gitStdin === null || warm ? { kind: "none" } : { kind: "no_sockets" },
      devices: "null",
      proc: false,
      // The probe that said yes to the program ran it this way too.
      init: gitStdin === null,
    });
    if (repoTop === undefined || repoTop === input.cwd) return spec;
    return withBind(spec, { source: repoTop, dest: repoTop, writable: false });
  };
  const wrapWith = (s: SandboxSpec, command: readonly string[]) =>
    a.kind === "bwrap" ? bwrapArgv(a.bin, s, command) : seatbeltArgv(s, command, a.bin);
  // Only bwrap starts warm, and not yet with the model proxy (its per-run proxy and in-sandbox
  // forwarders have not been tried that way).
  const keyOf = (s: SandboxSpec) => JSON.stringify(wrapWith(s, ["/"]));
  const warmable = a.kind === "bwrap" && input.network.kind !== "model";
  return {
    ok: true,
    plan: {
      kind: a.kind,
      key: warmable ? keyOf(specAt(RUN_DIR_IN_KEY)) : null,
      at: (runDir) => {
        const spec = specAt(runDir);
        try {
          // Synchronous: three tiny mkdirs on the run's critical path, not three trips through
          // the event loop behind whatever else the worker thread has queued. They are in the
          // daemon's own state dir, which its SQLite store already uses synchronously.
          for (const dir of [runDir, spec.home, spec.tmp]) {
            Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
          }
        } catch (e) {
          const reason = `cannot create the run's private dirs: ${(e as Error).message}`;
          return { ok: false, reason };
        }
        const sandbox: RunSandbox = {
          kind: a.kind,
          spec,
          env: sandboxEnv(spec),
          wrap: (command) => wrapWith(spec, command),
          inner: (command) => [...spec.extension.wrapper, ...command],
          wrapGit: (command, repoTop) => wrapWith(gitSpecAt(runDir, repoTop), command),
          gitStdin,
          warm: warmable
            ? {
              ctl: `${runDir}/ctl`,
              runner: (ctl, checks) =>
                wrapWith(withBind(spec, { source: ctl, dest: ctl, writable: true }), [
                  ...spec.extension.wrapper,
                  ...warmLauncher(ctl, checks),
                ]),
              git: (ctl, checks, repoTop) =>
                wrapWith(
                  withBind(gitSpecAt(runDir, repoTop, true), {
                    source: ctl,
                    dest: ctl,
                    writable: true,
                  }),
                  warmLauncher(ctl, checks),
                ),
              gitKey: (repoTop) => keyOf(gitSpecAt(RUN_DIR_IN_KEY, repoTop)),
            }
            : null,
          cleanup: () => Deno.remove(runDir, { recursive: true }).catch(() => {}),
        };
        return { ok: true, sandbox };
      },
    },
  };
}

/**
 * Prepares the sandbox of one run: `{ok: true, sandbox: null}` when the mode is `off`,
 * `{ok: false, reason}` when it is required but unusable (or the private dirs cannot be made).
 */
export function prepareRunSandbox(
  settings: SandboxSettings,
  input: RunSandboxInput,
): { ok: true; sandbox: RunSandbox | null } | { ok: false; reason: string } {
  const planned = planRunSandbox(settings, input);
  if (!planned.ok) return planned;
  return planned.plan === null ? { ok: true, sandbox: null } : planned.plan.at(input.runDir);
}
