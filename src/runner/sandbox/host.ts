/**
 * @module
 * Host facts a sandbox is built from, gathered once in the daemon's main thread (the worker
 * thread may not look around): which system directories exist and how (`/bin` is often a
 * symlink to `usr/bin`), which `/etc` entries to show, whether we run as root, and where a
 * runner is installed (the realpath of its binary's package, plus its interpreter's).
 *
 * @example
 * ```ts
 * import { hostLayout, installPathsOf } from "./host.ts";
 * const host = await hostLayout();
 * const paths = await installPathsOf("/home/u/.local/bin/codex", "/usr/bin:/bin", host);
 * // { dirs: ["/home/u/.local/lib/node_modules/@openai/codex"],
 * //   links: [{ path: "/home/u/.local/bin/codex", target: ".../@openai/codex/bin/codex.js" }] }
 * ```
 */
import { dirname } from "node:path";
import type { HostEntry, HostLayout } from "./spec.ts";

/** System directories shown read-only when they exist. */
export const SYSTEM_DIRS: readonly string[] = [
  "/usr",
  "/bin",
  "/sbin",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/opt",
  "/nix/store",
];

/**
 * The `/etc` entries shown (when they exist): users and groups by name, name resolution,
 * certificates, time zone, the dynamic linker and the alternatives `/usr/bin` links through.
 * Not `/etc` as a whole: it holds `shadow`, `ssh` host keys and other secrets a root daemon's
 * runs could read. Nor `/etc/ssl` or `/etc/pki` whole: their `private` directories hold TLS
 * keys, readable by a run whose uid 0 is the host's root; only their certificates and OpenSSL
 * config are shown.
 */
export const ETC_ENTRIES: readonly string[] = [
  "/etc/passwd",
  "/etc/group",
  "/etc/nsswitch.conf",
  "/etc/hosts",
  "/etc/host.conf",
  "/etc/resolv.conf",
  "/etc/gai.conf",
  "/etc/services",
  "/etc/protocols",
  "/etc/ssl/certs",
  "/etc/ssl/cert.pem",
  "/etc/ssl/openssl.cnf",
  "/etc/ca-certificates",
  "/etc/ca-certificates.conf",
  "/etc/pki/tls/certs",
  "/etc/pki/tls/cert.pem",
  "/etc/pki/tls/openssl.cnf",
  "/etc/pki/ca-trust",
  "/etc/crypto-policies",
  "/etc/localtime",
  "/etc/timezone",
  "/etc/ld.so.cache",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/alternatives",
  "/etc/mime.types",
  "/etc/os-release",
  "/etc/terminfo",
  "/etc/inputrc",
];

async function entryOf(path: string): Promise<HostEntry | null> {
  try {
    const info = await Deno.lstat(path);
    if (info.isSymlink) return { path, kind: "symlink", target: await Deno.readLink(path) };
    return info.isDirectory ? { path, kind: "dir" } : null;
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Gathers the {@link HostLayout} of this machine (needs read access to `/` and `/etc`). */
export async function hostLayout(uid: number | null = Deno.uid()): Promise<HostLayout> {
  const system = (await Promise.all(SYSTEM_DIRS.map(entryOf))).filter((e): e is HostEntry =>
    e !== null
  );
  const etc = (await Promise.all(ETC_ENTRIES.map(async (p) => (await exists(p)) ? p : null)))
    .filter((p): p is string => p !== null);
  return { system, etc, unshareUser: uid !== 0 };
}

/** True when `path` is already shown by a system directory (no extra bind needed). */
export function underSystemDir(path: string, host: HostLayout): boolean {
  // A symlinked system dir (`/bin` → `usr/bin`) is recreated as that link: paths under it resolve.
  return host.system.some((e) => path === e.path || path.startsWith(e.path + "/"));
}

/**
 * The directory a binary is installed in: for a file inside `node_modules`, its npm package
 * (`…/node_modules/@openai/codex` for `…/@openai/codex/bin/codex.js`: the script needs its
 * siblings); else its own directory. Decided from the path alone: never a directory above it
 * that merely holds a `package.json` (that could be a home directory).
 */
export function installDirOf(real: string): string {
  const at = real.lastIndexOf("/node_modules/");
  if (at < 0) return dirname(real);
  const rest = real.slice(at + "/node_modules/".length).split("/");
  const depth = rest[0]?.startsWith("@") ? 2 : 1;
  if (rest.length <= depth) return dirname(real);
  return real.slice(0, at + "/node_modules/".length) + rest.slice(0, depth).join("/");
}

/** The interpreter of a `#!` script: `#!/usr/bin/env node` → `node` on PATH; else the path. */
async function interpreterOf(file: string, pathEnv: string): Promise<string | null> {
  let head: string;
  try {
    const f = await Deno.open(file);
    try {
      const buf = new Uint8Array(256);
      const n = await f.read(buf);
      head = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    } finally {
      f.close();
    }
  } catch {
    return null;
  }
  if (!head.startsWith("#!")) return null;
  const words = head.slice(2).split("\n")[0].trim().split(/\s+/);
  let name = words[0];
  if (name?.endsWith("/env")) name = words.slice(1).find((w) => !w.startsWith("-")) ?? "";
  if (!name) return null;
  if (name.startsWith("/")) return name;
  for (const dir of pathEnv.split(":")) {
    if (dir.startsWith("/") && await exists(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return null;
}

/** Where a runner is installed: directories to show read-only, and links to recreate. */
export interface InstallPaths {
  dirs: string[];
  /** A binary named through a symlink outside the system dirs (`~/.local/bin/claude`). */
  links: { path: string; target: string }[];
}

/**
 * Read-only paths a runner needs beyond the system directories: its npm package or directory
 * (realpath'd, see {@link installDirOf}), the
 * program files its manifest's `base_args` name by absolute path, its interpreter's installation (e.g. an nvm `node` with its `lib/node_modules`), and a symlink
 * per binary named through one, so it runs inside by the same path. Paths already under a
 * system directory are left out.
 */
export async function installPathsOf(
  binary: string,
  pathEnv: string,
  host: HostLayout,
  programArgs: readonly string[] = [],
): Promise<InstallPaths> {
  const out: InstallPaths = { dirs: [], links: [] };
  // Program files the manifest names itself (`python3 /opt/agent/run.py`): the file, or its
  // npm package. Never the file's whole directory (it could be a home directory).
  for (const arg of programArgs) {
    if (!arg.startsWith("/")) continue;
    const real = await Deno.realPath(arg).catch(() => null);
    if (real === null || !(await Deno.stat(real)).isFile) continue;
    out.dirs.push(real.includes("/node_modules/") ? installDirOf(real) : real);
    if (real !== arg && !underSystemDir(arg, host)) out.links.push({ path: arg, target: real });
  }
  const add = async (bin: string) => {
    const real = await Deno.realPath(bin).catch(() => null);
    if (real === null) return null;
    out.dirs.push(installDirOf(real));
    if (real !== bin && !underSystemDir(bin, host)) out.links.push({ path: bin, target: real });
    return real;
  };
  const real = await add(binary);
  if (real !== null) {
    const interpreter = await interpreterOf(real, pathEnv);
    const ireal = interpreter === null ? null : await add(interpreter);
    // A node install outside /usr (nvm, volta): <prefix>/bin/node next to <prefix>/lib.
    const prefix = ireal === null ? null : dirname(dirname(ireal));
    if (prefix !== null && await exists(`${prefix}/lib/node_modules`)) out.dirs.push(prefix);
  }
  out.dirs = [...new Set(out.dirs)].filter((p) => p !== "/" && !underSystemDir(p, host));
  return out;
}
