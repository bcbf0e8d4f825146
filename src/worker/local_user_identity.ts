/**
 * @module
 * **Local-only mode** (`cmesh daemon --local-only`): the worker listens on 127.0.0.1 only and
 * accepts a caller only when the connection belongs to **this user on this machine**. The
 * kernel says who owns a loopback connection: the caller's socket (its address and port are
 * the request's source) is listed in `/proc/net/tcp` with its owner's uid, which must be the
 * daemon's own. Deno lets only `--allow-all` programs read `/proc` files, so the table is read
 * by running `cat` (the one extra binary the worker may run in this mode). Any other user's connection, or one the table does not show, is refused (fail
 * closed). Linux only: elsewhere the mode is refused before the daemon starts.
 *
 * Such a caller is the node {@link LOCAL_NODE} (`"local"`), the name inbound rules and outbound
 * peers use in this mode.
 *
 * @example
 * ```ts
 * import { procTcpOwner } from "./local_user_identity.ts";
 * const table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n" +
 *   "   0: 0100007F:9C40 0100007F:1D09 01 00000000:00000000 00:00000000 00000000  1000 0 1 1";
 * procTcpOwner(table, "127.0.0.1", 40000); // 1000
 * ```
 */
import type { CallerIdentity } from "../policy/types.ts";
import type { IdentityLookup, IdentityOutcome } from "./ports.ts";

/** The node name of a local-only caller. */
export const LOCAL_NODE = "local";

/** The kernel's table of IPv4 TCP sockets. */
export const PROC_NET_TCP = "/proc/net/tcp";

/** The identity a local-only caller gets. */
export function localUserCaller(uid: number, user: string): CallerIdentity {
  return {
    node: LOCAL_NODE,
    dnsName: `${LOCAL_NODE}.local-only.invalid.`,
    stableId: `local-user:${uid}`,
    login: `${user}@localhost`,
    tags: [],
    capMap: {},
  };
}

/** `127.0.0.1` → `0100007F` (the table's little-endian hex). */
function hexIPv4(ip: string): string | null {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    return null;
  }
  return parts.reverse().map((p) => p.toString(16).padStart(2, "0")).join("").toUpperCase();
}

/**
 * The uid owning the socket whose local address is `ip:port` in a `/proc/net/tcp` text, or
 * null when no such socket is listed. Pure.
 */
export function procTcpOwner(table: string, ip: string, port: number): number | null {
  const addr = hexIPv4(ip);
  if (addr === null || !Number.isInteger(port) || port <= 0 || port > 65535) return null;
  const want = `${addr}:${port.toString(16).padStart(4, "0").toUpperCase()}`;
  for (const line of table.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 8 || cols[1].toUpperCase() !== want) continue;
    const uid = Number(cols[7]);
    return Number.isInteger(uid) ? uid : null;
  }
  return null;
}

/** Reads `/proc/net/tcp` by running `catBin` (absolute path). */
export function catProcNetTcp(catBin: string): () => Promise<string> {
  return async () => {
    const out = await new Deno.Command(catBin, {
      args: [PROC_NET_TCP],
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(new TextDecoder().decode(out.stderr).trim() || `exit ${out.code}`);
    }
    return new TextDecoder().decode(out.stdout);
  };
}

/**
 * Callers whose loopback connection this uid owns are {@link localUserCaller}; everyone else
 * is refused. `readTable` returns `/proc/net/tcp` ({@link catProcNetTcp}).
 */
export function localUserIdentityLookup(
  uid: number,
  user: string,
  readTable: () => Promise<string>,
): IdentityLookup {
  return {
    async whois(ip: string, port: number): Promise<IdentityOutcome> {
      if (!ip.startsWith("127.")) {
        return { ok: false, code: "not_found", reason: `local-only: ${ip} is not loopback` };
      }
      let table: string;
      try {
        table = await readTable();
      } catch (e) {
        return {
          ok: false,
          code: "unavailable",
          reason: `local-only: cannot read ${PROC_NET_TCP} to see who owns the connection (${
            (e as Error).message
          })`,
        };
      }
      const owner = procTcpOwner(table, ip, port);
      if (owner === null) {
        return {
          ok: false,
          code: "not_found",
          reason: `local-only: no socket ${ip}:${port} in ${PROC_NET_TCP}`,
        };
      }
      if (owner !== uid) {
        return {
          ok: false,
          code: "not_found",
          reason:
            `local-only: the connection from ${ip}:${port} belongs to uid ${owner}, not to this daemon's user (uid ${uid})`,
        };
      }
      return { ok: true, identity: localUserCaller(uid, user) };
    },
  };
}
