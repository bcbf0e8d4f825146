/**
 * @module
 * A {@link SandboxSpec} as a macOS Seatbelt profile for `sandbox-exec -p`. Pure; unit-tested on
 * its text here and run by the release workflow's macOS smoke.
 *
 * Seatbelt has no mount or PID namespaces: the profile allows reading the system locations,
 * the runner's installation, the cwd and the private dirs, writing only the private dirs, the
 * runner's config dir and (for `edit`/`build`) the cwd, and denies everything else. Paths must
 * be realpaths (`/private/var/...`, not `/var/...`): Seatbelt matches resolved paths.
 *
 * @example
 * ```ts
 * import { seatbeltArgv, seatbeltProfile } from "./seatbelt.ts";
 * // seatbeltArgv(spec, ["/usr/local/bin/codex", "exec", "-"])
 * // → ["/usr/bin/sandbox-exec", "-p", "(version 1)\n(deny default)...", "/usr/local/bin/codex", ...]
 * ```
 */
import type { SandboxSpec } from "./spec.ts";

/** macOS system locations every run may read. */
export const SEATBELT_SYSTEM_READ: readonly string[] = [
  "/System",
  "/Library",
  "/usr",
  "/bin",
  "/sbin",
  "/opt",
  "/private/etc",
  "/private/var/db/timezone",
  "/private/var/db/dyld",
  "/Applications/Xcode.app",
  "/Library/Developer/CommandLineTools",
];

/**
 * Files under `/private/etc` no run may read, though the directory is readable (macOS keeps no
 * list of what its tools need there, as Linux's `ETC_ENTRIES` does): the password hashes, sudo's
 * rules, sshd's host keys, Kerberos keytabs and VPN secrets. A daemon running as root could read
 * them otherwise. Each `deny` comes after the `allow` of `/private/etc` and is more specific, so it
 * wins under Seatbelt's rule order.
 */
export const SEATBELT_ETC_SECRETS: { literals: readonly string[]; subpaths: readonly string[] } = {
  literals: [
    "/private/etc/master.passwd",
    "/private/etc/spwd.db",
    "/private/etc/sudoers",
    "/private/etc/krb5.keytab",
    "/private/etc/ssh/ssh_host_key",
    "/private/etc/ssh/ssh_host_rsa_key",
    "/private/etc/ssh/ssh_host_dsa_key",
    "/private/etc/ssh/ssh_host_ecdsa_key",
    "/private/etc/ssh/ssh_host_ed25519_key",
  ],
  subpaths: [
    "/private/etc/sudoers.d",
    "/private/etc/racoon",
    "/private/etc/ppp",
    "/private/etc/ssl/private",
    "/private/etc/openldap",
  ],
};

/** Device files every run may read and write. */
const DEVICES = ["/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/fd"];

/** A Seatbelt (SBPL) string literal. */
export function sbplString(s: string): string {
  if (s.includes("\0")) throw new Error("a sandbox path cannot contain NUL");
  return `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

const subpaths = (paths: readonly string[]) => paths.map((p) => `(subpath ${sbplString(p)})`);
const literals = (paths: readonly string[]) => paths.map((p) => `(literal ${sbplString(p)})`);

/** The profile text for `sandbox-exec -p`. */
export function seatbeltProfile(spec: SandboxSpec): string {
  const lines = ["(version 1)"];
  if (spec.view === "host") {
    // `full`: the user's view. Documented exception; no namespaces exist on macOS either way.
    lines.push("(allow default)");
    return lines.join("\n") + "\n";
  }
  const writable = [
    spec.home,
    spec.tmp,
    ...spec.configDirs,
    ...(spec.cwdWritable ? [spec.cwd] : []),
    ...spec.extension.binds.filter((b) => b.writable).map((b) => b.source),
  ];
  const readable = [
    ...SEATBELT_SYSTEM_READ,
    ...spec.installPaths,
    ...spec.links.map((l) => l.target),
    spec.cwd,
    ...spec.extension.binds.map((b) => b.source),
    ...writable,
  ];
  lines.push(
    "(deny default)",
    "(allow process-fork)",
    "(allow process-exec)",
    "(allow signal (target same-sandbox))",
    "(allow sysctl-read)",
    "(allow mach-lookup)",
    "(allow ipc-posix-shm)",
    "(allow ipc-posix-sem)",
    "(allow process-info* (target self))",
    "(allow file-read-metadata)",
    `(allow file-read* ${
      [...subpaths(readable), ...literals(spec.links.map((l) => l.path))].join(" ")
    })`,
    `(allow file-read* file-write* ${
      literals(spec.devices === "null" ? ["/dev/null"] : DEVICES).join(" ")
    })`,
    `(allow file-write* ${subpaths(writable).join(" ")})`,
    `(deny file-read* file-write* ${
      [...literals(SEATBELT_ETC_SECRETS.literals), ...subpaths(SEATBELT_ETC_SECRETS.subpaths)]
        .join(" ")
    })`,
  );
  // `system-socket`: the AF_SYSTEM sockets networking libraries query interfaces through.
  if (spec.network.kind === "host") lines.push("(allow network*)", "(allow system-socket)");
  else lines.push("(deny network*)");
  return lines.join("\n") + "\n";
}

/** The full argv: `sandbox-exec -p <profile>`, the extension's wrapper, then `command`. */
export function seatbeltArgv(
  spec: SandboxSpec,
  command: readonly string[],
  sandboxExec = "/usr/bin/sandbox-exec",
): string[] {
  return [sandboxExec, "-p", seatbeltProfile(spec), ...spec.extension.wrapper, ...command];
}
