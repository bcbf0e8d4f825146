/**
 * @module
 * What one sandboxed process may see and do, decided from the admission decision (profile,
 * realpath'd cwd, runner) and never from the prompt. Pure: the host facts (which system
 * directories exist, whether we run as root) are inputs, gathered once by `host.ts`.
 *
 * The same {@link SandboxSpec} becomes a bubblewrap argv on Linux (`bwrap.ts`) and a Seatbelt
 * profile on macOS (`seatbelt.ts`).
 *
 * @example
 * ```ts
 * import { sandboxSpecFor } from "./spec.ts";
 * const spec = sandboxSpecFor({
 *   profile: "query", cwd: "/srv/app", runDir: "/var/lib/cmesh/runs/r1",
 *   installPaths: ["/usr/lib/node_modules/@openai/codex"],
 *   configDirs: ["/var/lib/cmesh/runners/codex"],
 *   host: { system: [{ path: "/usr", kind: "dir" }], etc: ["/etc/passwd"], unshareUser: false },
 *   network: { kind: "host" },
 * });
 * spec.cwdWritable; // false
 * ```
 */
import type { EtcView } from "./etc_mirror.ts";

/** How a system path exists on the host (top-level directories may be symlinks, e.g. /bin). */
export interface HostEntry {
  path: string;
  kind: "dir" | "symlink";
  /** The link text, for `kind: "symlink"` (e.g. `usr/bin`). */
  target?: string;
}

/** Host facts the sandbox is built from (gathered in the daemon's main thread). */
export interface HostLayout {
  /** System directories that exist (`/usr`, `/bin`, `/lib*`, `/opt`, ...), read-only. */
  system: HostEntry[];
  /** The `/etc` entries a program needs (passwd, resolv.conf, certificates, ...), read-only. */
  etc: string[];
  /** True when not root: bwrap then needs its own user namespace. */
  unshareUser: boolean;
}

/**
 * The network a run gets. `none`: no network at all (own empty namespace). `host`: the host's
 * network (today's behaviour). `model`: only the model hosts, through the daemon's proxy
 * (built on top of this spec with {@link SandboxExtension}). `no_sockets`: no network either,
 * by refusing every call that makes a socket (`seccomp.ts`) instead of a namespace of its own,
 * which is dearer to start: for the worker's own git calls, which make none (bwrap reads the
 * program from its stdin, see `bwrap.ts`).
 */
export type SandboxNetwork =
  | { kind: "none" }
  | { kind: "no_sockets" }
  | { kind: "host" }
  | { kind: "model"; hosts: string[] };

/** One extra bind mount. */
export interface SandboxBind {
  source: string;
  dest: string;
  writable: boolean;
}

/**
 * Extension point for what a network mode (or a later feature) adds: extra binds (a generated
 * `/etc/hosts`, a unix socket), extra bwrap arguments, and a wrapper argv run inside the
 * sandbox in front of the command (e.g. a forwarder that starts before the runner).
 */
export interface SandboxExtension {
  binds: SandboxBind[];
  /** Raw bwrap arguments appended after the mounts (Linux only). */
  bwrapArgs: string[];
  /** Argv placed in front of the command inside the sandbox (absolute argv[0]). */
  wrapper: string[];
}

/** Everything the sandbox of one process is built from. */
export interface SandboxSpec {
  /**
   * `confined`: only system dirs, the runner's install, the cwd and the private dirs.
   * `host`: the `full` profile's documented exception, the user's whole view (read-write) —
   * still its own PID namespace, so the daemon's processes stay invisible.
   */
  view: "confined" | "host";
  /** The realpath'd task cwd. */
  cwd: string;
  /** Read-write for `edit`/`build` (and `full`), read-only otherwise. */
  cwdWritable: boolean;
  /** Private, empty HOME of this run (created before, removed after). */
  home: string;
  /** Private, empty TMPDIR of this run; also mounted at `/tmp`. */
  tmp: string;
  /** The runner's own installation (and its interpreter), read-only. */
  installPaths: string[];
  /** Symlinks recreated inside, so a binary named through one runs by the same path. */
  links: { path: string; target: string }[];
  /** The runner's private config dirs, read-write at their own paths. */
  configDirs: string[];
  host: HostLayout;
  /**
   * bwrap: the `/etc` mirror to bind (see `etc_mirror.ts`); null binds each of `host.etc`
   * (and Seatbelt always allows those paths).
   */
  etcView: EtcView | null;
  network: SandboxNetwork;
  extension: SandboxExtension;
  /**
   * `standard`: a fresh `/dev` with the usual nodes (null, zero, random, urandom, tty, pts,
   * shm). `null`: only `/dev/null`, for the worker's own git calls, which need nothing else
   * (and each node is one more mount to set up at every start).
   */
  devices: "standard" | "null";
  /**
   * A fresh `/proc` (of the run's own PID namespace). False for the worker's own git calls,
   * which read nothing there: one mount less at each start, and a `no_sockets` call, which
   * shares the host's network namespace, cannot list its connections in `/proc/net` either.
   */
  proc: boolean;
  /**
   * bwrap's own init is PID 1 of the namespace (it reaps orphans and passes signals on). False
   * for the worker's own git calls: the command itself is PID 1, one process fewer at each
   * start. They need no signal: a timeout kills bwrap, and the namespace dies with it.
   */
  init: boolean;
}

/** Profiles whose runs may write in the cwd; every other profile name gets the query view. */
export const WRITABLE_PROFILES: readonly string[] = ["edit", "build"];

/** Inputs of {@link sandboxSpecFor}. */
export interface SandboxSpecInput {
  profile: string;
  cwd: string;
  /** The per-run directory; `home` and `tmp` are created inside it. */
  runDir: string;
  installPaths: string[];
  links?: { path: string; target: string }[];
  configDirs: string[];
  host: HostLayout;
  /** See {@link SandboxSpec.etcView}; none when absent. */
  etcView?: EtcView | null;
  network: SandboxNetwork;
  extension?: Partial<SandboxExtension>;
  /** See {@link SandboxSpec.devices}; `standard` when absent. */
  devices?: SandboxSpec["devices"];
  /** See {@link SandboxSpec.proc}; true when absent. */
  proc?: boolean;
  /** See {@link SandboxSpec.init}; true when absent. */
  init?: boolean;
}

/**
 * The view a profile's runs get: `host` for `full`, `confined` for every other name.
 *
 * @example
 * ```ts
 * sandboxViewFor("full"); // "host"
 * sandboxViewFor("query"); // "confined"
 * ```
 */
export function sandboxViewFor(profile: string): SandboxSpec["view"] {
  return profile === "full" ? "host" : "confined";
}

/**
 * The spec for one run. Profiles other than `edit`, `build` and `full` (custom names too) get
 * the read-only `query` view: fail closed.
 */
export function sandboxSpecFor(input: SandboxSpecInput): SandboxSpec {
  const view = sandboxViewFor(input.profile);
  return {
    view,
    cwd: input.cwd,
    cwdWritable: view === "host" || WRITABLE_PROFILES.includes(input.profile),
    home: `${input.runDir}/home`,
    tmp: `${input.runDir}/tmp`,
    installPaths: [...new Set(input.installPaths)],
    links: input.links ?? [],
    configDirs: [...new Set(input.configDirs)],
    host: input.host,
    etcView: input.etcView ?? null,
    network: input.network,
    extension: {
      binds: input.extension?.binds ?? [],
      bwrapArgs: input.extension?.bwrapArgs ?? [],
      wrapper: input.extension?.wrapper ?? [],
    },
    devices: input.devices ?? "standard",
    proc: input.proc ?? true,
    init: input.init ?? true,
  };
}

/**
 * The environment overrides of a sandboxed run: the private HOME and TMPDIR (the `full`
 * profile keeps the user's HOME: it is the user's view).
 */
export function sandboxEnv(spec: SandboxSpec): Record<string, string> {
  return spec.view === "host" ? { TMPDIR: spec.tmp } : { HOME: spec.home, TMPDIR: spec.tmp };
}
