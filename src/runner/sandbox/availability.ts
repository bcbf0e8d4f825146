/**
 * @module
 * Can this machine sandbox runs, and with what? Linux: `bwrap` present and able to create its
 * namespaces (a real probe run, cached); macOS: `sandbox-exec`; Windows: nothing. Every "no"
 * names the fix.
 *
 * @example
 * ```ts
 * import { probeSandbox } from "./availability.ts";
 * const a = await probeSandbox();
 * if (!a.ok) console.error(`${a.reason}; fix: ${a.fix}`);
 * ```
 */
import { runBounded } from "../../util/bounded_command.ts";
import { SECCOMP_FD } from "./bwrap.ts";
import { socketDenyProgram } from "./seccomp.ts";

/** The sandbox technologies cmesh drives. */
export type SandboxKind = "bwrap" | "seatbelt";

/** Whether runs can be sandboxed here. */
export type SandboxAvailability =
  | {
    ok: true;
    kind: SandboxKind;
    bin: string;
    /**
     * bwrap applied a seccomp program in its probe (`seccomp.ts`), with the command as PID 1
     * (`--as-pid-1`): the worker's git calls are kept off the network by refusing sockets
     * instead of a network namespace of their own, and start without bwrap's init.
     */
    seccomp?: boolean;
  }
  | { ok: false; kind: SandboxKind | "none"; reason: string; fix: string };

/** What `[sandbox] mode = "off"` says everywhere it is shown. */
export const SANDBOX_OFF_FIX = 'set [sandbox] mode = "off" in config.toml to run unsandboxed';

const BWRAP_DIRS = ["/usr/bin", "/bin", "/usr/local/bin", "/usr/sbin"];
const TRUE_PATHS = ["/usr/bin/true", "/bin/true"];
const SEATBELT = "/usr/bin/sandbox-exec";

async function firstFile(paths: string[]): Promise<string | null> {
  for (const p of paths) {
    try {
      if ((await Deno.stat(p)).isFile) return p;
    } catch { /* next */ }
  }
  return null;
}

/**
 * The probe's bwrap arguments: the namespaces and capabilities every run uses (see bwrap.ts),
 * around `true`. `unshareUser` is false for root.
 */
export function bwrapProbeArgs(truePath: string, unshareUser: boolean): string[] {
  return [
    "--die-with-parent",
    "--new-session",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-net",
    "--unshare-user",
    "--cap-drop",
    "ALL",
    ...(unshareUser ? [] : ["--uid", "0", "--gid", "0", "--cap-add", "CAP_SETFCAP"]),
    "--ro-bind",
    "/",
    "/",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--",
    truePath,
  ];
}

/** Explains a failed bwrap probe from its stderr, with the fix. */
export function explainBwrapFailure(stderr: string): { reason: string; fix: string } {
  const text = stderr.trim().split("\n")[0] ?? "";
  if (/user namespace|setting up uid map|No permissions to create new namespace/i.test(stderr)) {
    return {
      reason: `bwrap cannot create its namespaces: ${text}`,
      fix: "enable unprivileged user namespaces (`sysctl kernel.unprivileged_userns_clone=1`, " +
        "or `sysctl kernel.apparmor_restrict_unprivileged_userns=0` on Ubuntu 24.04+), or " +
        SANDBOX_OFF_FIX,
    };
  }
  return {
    reason: `bwrap failed its probe run: ${text || "no output"}`,
    fix: `check that bwrap works (\`bwrap --ro-bind / / true\`), or ${SANDBOX_OFF_FIX}`,
  };
}

async function probeBwrap(uid: number | null): Promise<SandboxAvailability> {
  const bin = await firstFile(BWRAP_DIRS.map((d) => `${d}/bwrap`));
  if (bin === null) {
    return {
      ok: false,
      kind: "bwrap",
      reason: "bubblewrap (bwrap) is not installed",
      fix:
        `install it (\`apt-get install bubblewrap\`, \`dnf install bubblewrap\`), or ${SANDBOX_OFF_FIX}`,
    };
  }
  const truePath = await firstFile(TRUE_PATHS);
  if (truePath === null) {
    return {
      ok: false,
      kind: "bwrap",
      reason: "no `true` binary to probe bwrap with",
      fix: SANDBOX_OFF_FIX,
    };
  }
  try {
    // Side by side: the seccomp probe's answer matters only when the first one passes.
    const [r, seccomp] = await Promise.all([
      runProbe(bin, bwrapProbeArgs(truePath, uid !== 0)),
      probeSeccomp(bin, truePath, uid !== 0),
    ]);
    if (r.code === 0) return { ok: true, kind: "bwrap", bin, seccomp };
    return { ok: false, kind: "bwrap", ...explainBwrapFailure(r.stderr) };
  } catch (e) {
    return {
      ok: false,
      kind: "bwrap",
      reason: `cannot run ${bin}: ${(e as Error).message}`,
      fix: SANDBOX_OFF_FIX,
    };
  }
}

/** One probe run of bwrap (`stdin`: what it reads there, the seccomp program). */
function runProbe(bin: string, args: string[], stdin?: Uint8Array) {
  return runBounded(bin, {
    args,
    env: { LC_ALL: "C", PATH: "/usr/bin:/bin" },
    ...(stdin ? { stdin } : {}),
    maxStdoutBytes: 64 * 1024,
    timeoutMs: 10_000,
  });
}

/**
 * Whether bwrap starts a command the way the worker's git calls want it: under the
 * socket-refusing seccomp program, as PID 1 (a kernel without seccomp filters, or a bwrap
 * without either option, says no). The probe's `true` runs so and must exit 0. Without it the
 * git calls keep their own network namespace and bwrap's init.
 */
async function probeSeccomp(bin: string, truePath: string, unshareUser: boolean): Promise<boolean> {
  const program = socketDenyProgram();
  if (program === null) return false;
  try {
    const args = ["--as-pid-1", "--seccomp", String(SECCOMP_FD)];
    const r = await runProbe(bin, [...args, ...bwrapProbeArgs(truePath, unshareUser)], program);
    return r.code === 0;
  } catch {
    return false;
  }
}

let cached: Promise<SandboxAvailability> | null = null;

/**
 * Probes (once per process; `fresh` probes again) whether runs can be sandboxed on `os`.
 */
export function probeSandbox(
  opts: { os?: string; uid?: number | null; fresh?: boolean } = {},
): Promise<SandboxAvailability> {
  const os = opts.os ?? Deno.build.os;
  if (os === "linux") {
    if (cached === null || opts.fresh) cached = probeBwrap(opts.uid ?? Deno.uid());
    return cached;
  }
  if (os === "darwin") {
    return firstFile([SEATBELT]).then((bin): SandboxAvailability =>
      bin === null
        ? { ok: false, kind: "seatbelt", reason: `${SEATBELT} is missing`, fix: SANDBOX_OFF_FIX }
        : { ok: true, kind: "seatbelt", bin }
    );
  }
  return Promise.resolve({
    ok: false,
    kind: "none",
    reason: `runs cannot be sandboxed on ${os}`,
    fix: SANDBOX_OFF_FIX,
  });
}
