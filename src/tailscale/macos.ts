/**
 * @module
 * Finding the LocalAPI of the macOS GUI builds of Tailscale, which serve it on
 * `127.0.0.1:<random port>` protected by a 20-hex-character token (tailscale
 * `safesocket/safesocket_darwin.go`):
 *
 * 1. Standalone ("macsys"): `/Library/Tailscale/ipnport` is a symlink whose *target* is the port;
 *    `/Library/Tailscale/sameuserproof-<port>` holds the token (root:admin 0640, so members of
 *    `admin` can read it).
 * 2. Mac App Store: the sandboxed `IPNExtension` keeps a file `sameuserproof-<port>-<token>`
 *    open; `lsof -n -a -u<uid> -c IPNExtension -F` shows its path.
 *
 * The Go client tries the App Store way first; cmesh reads the macsys files first because that
 * needs no subprocess (and no `--allow-run=lsof` in the worker's permission set). Only one GUI
 * variant runs at a time, so the order does not change the answer. Not run on a real Mac yet.
 *
 * @example
 * ```ts
 * import { discoverMacGuiEndpoint, realMacDiscoveryDeps } from "./macos.ts";
 * const found = await discoverMacGuiEndpoint(realMacDiscoveryDeps);
 * if (found.ok) console.log(found.endpoint.port);
 * ```
 */

/** The file-system and process hooks discovery needs (swapped out in tests). */
export interface MacDiscoveryDeps {
  /** True when something exists at `path` (lstat; a socket counts). */
  exists(path: string): Promise<boolean>;
  /** Target of a symlink. */
  readLink(path: string): Promise<string>;
  /** File contents as text. */
  readTextFile(path: string): Promise<string>;
  /** `lsof -n -a -u<uid> -c IPNExtension -F` output, or `null` if it could not run. */
  runLsof(): Promise<string | null>;
}

/** The macsys files' directory. */
export const MACSYS_DIR = "/Library/Tailscale";

/** Real implementations over Deno APIs. */
export const realMacDiscoveryDeps: MacDiscoveryDeps = {
  async exists(path) {
    try {
      await Deno.lstat(path);
      return true;
    } catch {
      return false;
    }
  },
  readLink: (path) => Deno.readLink(path),
  readTextFile: (path) => Deno.readTextFile(path),
  async runLsof() {
    const uid = Deno.uid();
    if (uid === null) return null;
    try {
      const out = await new Deno.Command("lsof", {
        args: ["-n", "-a", `-u${uid}`, "-c", "IPNExtension", "-F"],
        stdout: "piped",
        stderr: "null",
        stdin: "null",
      }).output();
      // lsof exits 1 when nothing matched; the output is still meaningful (empty).
      return new TextDecoder().decode(out.stdout);
    } catch {
      return null;
    }
  },
};

/** A port and token pair. */
export interface PortToken {
  port: number;
  token: string;
}

function validPort(s: string): number | null {
  if (!/^[1-9]\d{0,4}$/.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

/**
 * Pick the App Store extension's port and token out of `lsof -F` output: the line containing
 * `.tailscale.ipn.macos/sameuserproof-`, split at the first `-` after it.
 *
 * @example
 * ```ts
 * parseLsofSameUserProof(
 *   "p123\nn/Users/a/Library/Group Containers/io.tailscale.ipn.macos/sameuserproof-61577-2ae2ec9e0aa2005784f1\n",
 * ); // { port: 61577, token: "2ae2ec9e0aa2005784f1" }
 * ```
 */
export function parseLsofSameUserProof(output: string): PortToken | null {
  const marker = ".tailscale.ipn.macos/sameuserproof-";
  for (const line of output.split("\n")) {
    const i = line.indexOf(marker);
    if (i === -1) continue;
    const rest = line.slice(i + marker.length).trim();
    const dash = rest.indexOf("-");
    if (dash === -1) continue;
    const port = validPort(rest.slice(0, dash));
    const token = rest.slice(dash + 1);
    if (port !== null && /^[0-9A-Za-z]+$/.test(token)) return { port, token };
  }
  return null;
}

/** Read the macsys `ipnport` symlink and its token file. */
export async function readMacsysPortToken(
  deps: MacDiscoveryDeps,
): Promise<{ ok: true; value: PortToken } | { ok: false; why: string }> {
  let portText: string;
  try {
    portText = await deps.readLink(`${MACSYS_DIR}/ipnport`);
  } catch (err) {
    return { ok: false, why: `${MACSYS_DIR}/ipnport: ${errText(err)}` };
  }
  const port = validPort(portText);
  if (port === null) {
    return {
      ok: false,
      why: `${MACSYS_DIR}/ipnport points at ${JSON.stringify(portText)}, not a port`,
    };
  }
  const tokenFile = `${MACSYS_DIR}/sameuserproof-${port}`;
  let token: string;
  try {
    token = (await deps.readTextFile(tokenFile)).trim();
  } catch (err) {
    return {
      ok: false,
      why: `${tokenFile}: ${errText(err)} (the cmesh user must be in group admin to read it)`,
    };
  }
  if (token === "" || /[\s:]/.test(token)) {
    return { ok: false, why: `${tokenFile} holds no usable token` };
  }
  return { ok: true, value: { port, token } };
}

function errText(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "not found";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.NotCapable) return "Deno permission missing (allow read)";
  return err instanceof Error ? err.message : String(err);
}

/** A discovered GUI endpoint, or every reason discovery failed. */
export type MacDiscoveryResult =
  | {
    ok: true;
    endpoint: { transport: "tcp"; hostname: string; port: number; token: string; source: string };
  }
  | { ok: false; tried: string[] };

/**
 * Find the GUI variant's LocalAPI: macsys files, then `lsof` for the App Store extension. The
 * caller dials the result (a stale macsys port shows up as a refused connection there).
 */
export async function discoverMacGuiEndpoint(deps: MacDiscoveryDeps): Promise<MacDiscoveryResult> {
  const tried: string[] = [];
  const macsys = await readMacsysPortToken(deps);
  if (macsys.ok) {
    return {
      ok: true,
      endpoint: {
        transport: "tcp",
        hostname: "127.0.0.1",
        port: macsys.value.port,
        token: macsys.value.token,
        source: "Tailscale standalone app, /Library/Tailscale",
      },
    };
  }
  tried.push(macsys.why);
  const lsof = await deps.runLsof();
  if (lsof === null) {
    tried.push("could not run lsof to look for the App Store IPNExtension");
  } else {
    const found = parseLsofSameUserProof(lsof);
    if (found) {
      return {
        ok: true,
        endpoint: {
          transport: "tcp",
          hostname: "127.0.0.1",
          port: found.port,
          token: found.token,
          source: "Tailscale App Store app, IPNExtension",
        },
      };
    }
    tried.push("lsof found no App Store IPNExtension running as this user");
  }
  return { ok: false, tried };
}
