/**
 * @module
 * A {@link SandboxSpec} as a bubblewrap (`bwrap`) argv. Pure.
 *
 * The sandbox starts from an empty root: only what is bound below exists inside. Every run gets
 * its own PID, IPC and UTS namespaces (a fresh `/proc`: the daemon's processes and their
 * environments are invisible), its own session, no capabilities, and dies with its parent.
 * bwrap stays PID 1's parent outside the namespace: killing it ends the whole namespace, so
 * nothing a run starts (double fork, `setsid`, marker dropped) can outlive it.
 *
 * @example
 * ```ts
 * import { bwrapArgv } from "./bwrap.ts";
 * import { sandboxSpecFor } from "./spec.ts";
 * const spec = sandboxSpecFor({
 *   profile: "edit", cwd: "/srv/app", runDir: "/var/lib/cmesh/runs/r1", installPaths: [],
 *   configDirs: [], network: { kind: "host" },
 *   host: { system: [{ path: "/usr", kind: "dir" }], etc: [], unshareUser: true },
 * });
 * const argv = bwrapArgv("/usr/bin/bwrap", spec, ["/usr/bin/codex", "exec", "-"]);
 * // ["/usr/bin/bwrap", "--die-with-parent", ..., "--bind", "/srv/app", "/srv/app", ..., "--",
 * //  "/usr/bin/codex", "exec", "-"]
 * ```
 */
import type { SandboxSpec } from "./spec.ts";
import type { EtcView } from "./etc_mirror.ts";

/**
 * Where a `no_sockets` sandbox's bwrap reads its seccomp program (`seccomp.ts`): its stdin. The
 * caller writes the program there and closes it; bwrap closes the descriptor once read, and a
 * program started inside finds its stdin closed (git opens `/dev/null` in its place).
 */
export const SECCOMP_FD = 0;

/** Namespace and process flags every sandbox gets. */
export const BWRAP_PROCESS_FLAGS: readonly string[] = [
  "--die-with-parent",
  "--new-session",
  "--unshare-pid",
  "--unshare-ipc",
  "--unshare-uts",
  "--cap-drop",
  "ALL",
];

const underEtc = (p: string) => p === "/etc" || p.startsWith("/etc/");

/**
 * The mirror is bound read-only, so nothing can be made below it afterwards: when anything else
 * the run sees lies under `/etc` (a cwd or state dir there), each entry is bound instead.
 */
function mirrorUsable(spec: SandboxSpec): spec is SandboxSpec & { etcView: EtcView } {
  if (spec.etcView === null) return false;
  const later = [
    spec.cwd,
    spec.home,
    spec.tmp,
    ...spec.installPaths,
    ...spec.links.map((l) => l.path),
    ...spec.configDirs,
    ...spec.extension.binds.map((b) => b.dest),
  ];
  return !later.some(underEtc);
}

/**
 * The full argv: `bwrapBin`, the sandbox arguments, `--`, the extension's wrapper (if any),
 * then `command` (absolute argv[0]).
 */
export function bwrapArgv(
  bwrapBin: string,
  spec: SandboxSpec,
  command: readonly string[],
): string[] {
  if (!command[0]?.startsWith("/")) throw new Error("the sandboxed command needs an absolute path");
  const args: string[] = [bwrapBin, ...BWRAP_PROCESS_FLAGS];
  // Always a user namespace. As root it maps only uid 0 and keeps just CAP_SETFCAP there: a
  // runner's own nested sandbox (Codex runs its commands in bubblewrap) may then map uid 0 in
  // its namespace, while remounting a read-only bind (CAP_SYS_ADMIN) stays impossible.
  args.push("--unshare-user");
  if (!spec.host.unshareUser) args.push("--uid", "0", "--gid", "0", "--cap-add", "CAP_SETFCAP");
  if (!spec.init) args.push("--as-pid-1");
  if (spec.network.kind === "no_sockets") args.push("--seccomp", String(SECCOMP_FD));
  else if (spec.network.kind !== "host") args.push("--unshare-net");
  const ro = (p: string) => args.push("--ro-bind", p, p);
  const rw = (p: string) => args.push("--bind", p, p);
  if (spec.view === "host") {
    // `full`: the user's own view, read-write; fresh /proc and /dev all the same.
    rw("/");
    args.push("--dev", "/dev", "--proc", "/proc");
    rw(spec.home);
    rw(spec.tmp);
  } else {
    for (const entry of spec.host.system) {
      if (entry.kind === "symlink" && entry.target) {
        args.push("--symlink", entry.target, entry.path);
      } else ro(entry.path);
    }
    // The mirror is one bind where each entry would be one (see etc_mirror.ts). Each bound
    // entry may vanish between the probe and the run: `-try` skips a missing one.
    const etcView = mirrorUsable(spec) ? spec.etcView : null;
    if (etcView !== null) args.push("--ro-bind", etcView.dir, "/etc");
    for (const p of etcView?.binds ?? spec.host.etc) args.push("--ro-bind-try", p, p);
    // The private tmp goes over /tmp first, so binds below /tmp (a cwd there) stay visible.
    if (spec.devices === "null") args.push("--dev-bind", "/dev/null", "/dev/null");
    else args.push("--dev", "/dev");
    if (spec.proc) args.push("--proc", "/proc");
    args.push("--bind", spec.tmp, "/tmp");
    for (const p of spec.installPaths) ro(p);
    for (const l of spec.links) args.push("--symlink", l.target, l.path);
    rw(spec.tmp);
    rw(spec.home);
    for (const p of spec.configDirs) rw(p);
    if (spec.cwdWritable) rw(spec.cwd);
    else ro(spec.cwd);
  }
  for (const b of spec.extension.binds) {
    args.push(b.writable ? "--bind" : "--ro-bind", b.source, b.dest);
  }
  // The empty root (and the mount-point dirs bwrap made in it) becomes read-only: a write to a
  // path that is not bound fails instead of landing in a throwaway tmpfs.
  if (spec.view === "confined") args.push("--remount-ro", "/");
  args.push("--chdir", spec.cwd, ...spec.extension.bwrapArgs, "--", ...spec.extension.wrapper);
  args.push(...command);
  return args;
}
