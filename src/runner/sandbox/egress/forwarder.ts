/**
 * @module
 * The inside half of `model` egress: what a run's sandbox gets so that its only way out is
 * the daemon's egress proxy. Pure.
 *
 * The run has its own network namespace with nothing but loopback. In it, `socat` forwarders
 * (started by a small `/bin/sh` wrapper before the runner is exec'd) listen on loopback and
 * forward each connection to a unix socket that the daemon's proxy serves
 * (`proxy.ts`), bound into the sandbox:
 *
 * - **the proxy listener** (`127.0.0.1:3128`, or the next free port): an HTTP proxy named in
 *   `HTTPS_PROXY`/`HTTP_PROXY`. Claude Code and codex send `CONNECT host:443` to it (checked
 *   with the real CLIs), so TLS stays end to end. A name never has to resolve in the sandbox.
 * - **a tunnel per loopback destination** (`127.0.0.1:8080` when a base URL says so): listens on
 *   that very address inside, so a CLI that connects directly still arrives, and the daemon
 *   forwards it to that one destination only. Ports below 1024 cannot be bound by an ordinary
 *   user there: such destinations are reached through the proxy only.
 *
 * The wrapper waits until every forwarder listens (read from `/proc/net/tcp`), so the runner's
 * first connection never races them.
 *
 * @example
 * ```ts
 * import { forwarderPlan } from "./forwarder.ts";
 * const plan = forwarderPlan({
 *   destinations: [{ host: "api.anthropic.com", port: 443 }, { host: "127.0.0.1", port: 8080 }],
 *   socketDir: "/var/lib/cmesh/egress/ab12cd34", socat: "/usr/bin/socat",
 * });
 * plan.env.HTTPS_PROXY; // "http://127.0.0.1:3128"
 * plan.listeners.map((l) => l.socket); // [".../p.sock", ".../t0.sock"]
 * ```
 */
import { CmeshError } from "../../../protocol/errors.ts";
import { type Destination, isIpv4, isLoopbackHost } from "../../../util/destination.ts";

/** One unix socket the daemon serves for a run. */
export type EgressListener =
  | { kind: "proxy"; socket: string }
  | { kind: "tunnel"; socket: string; destination: Destination };

/** One bind mount (the shape the sandbox spec takes). */
export interface ForwarderBind {
  source: string;
  dest: string;
  writable: boolean;
}

/** What {@link forwarderPlan} produces. */
export interface ForwarderPlan {
  /** Sockets the daemon must serve before the run starts. */
  listeners: EgressListener[];
  /** The socket directory, bound read-only into the sandbox at the same path. */
  binds: ForwarderBind[];
  /** Argv placed in front of the runner's argv inside the sandbox. */
  wrapper: string[];
  /** Environment values the run gets (they win over the runner's own). */
  env: Record<string, string>;
  /** The loopback port of the proxy listener inside the sandbox. */
  proxyPort: number;
}

/** Inputs of {@link forwarderPlan}. */
export interface ForwarderInput {
  destinations: readonly Destination[];
  /** A fresh per-run directory, outside anything the run otherwise sees. */
  socketDir: string;
  /** Absolute path of `socat`. */
  socat: string;
  /** Absolute path of a POSIX shell (default `/bin/sh`). */
  shell?: string;
}

/** The proxy's preferred port inside the sandbox (the conventional HTTP proxy port). */
export const PROXY_PORT = 3128;
/** Unix socket paths are limited to 107 bytes (sun_path). */
const MAX_SOCKET_PATH = 107;
/** socat reads `,` `:` `!` and quotes in an address as syntax: paths must avoid them. */
const SAFE_PATH = /^\/[A-Za-z0-9_./-]+$/;

/** Why forwarding cannot be set up with these paths (fail closed, naming the fix). */
export class EgressSetupError extends CmeshError<"egress_setup"> {
  /** @param message what is wrong and what to change */
  constructor(message: string) {
    super("egress_setup", message);
  }
}

function quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** `/proc/net/tcp` form of a listening IPv4 socket: `0100007F:0C38 00000000:0000 0A`. */
function procNetTcpListen(ip: string, port: number): string {
  const hexIp = ip.split(".").map((p) => Number(p).toString(16).toUpperCase().padStart(2, "0"))
    .reverse().join("");
  return `${hexIp}:${port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 0A`;
}

/** The in-sandbox address a loopback destination is tunnelled on, or null (proxy only). */
function tunnelAddress(d: Destination): string | null {
  if (d.port < 1024 || !isLoopbackHost(d.host)) return null;
  if (d.host === "localhost") return "127.0.0.1";
  return isIpv4(d.host) ? d.host : null;
}

/** How many direct tunnels a run with these destinations gets (one socket each). */
export function tunnelCount(destinations: readonly Destination[]): number {
  return new Set(destinations.flatMap((d) => {
    const ip = tunnelAddress(d);
    return ip === null ? [] : [`${ip}:${d.port}`];
  })).size;
}

/** Builds the forwarders of one `model` run; see the module doc. */
export function forwarderPlan(input: ForwarderInput): ForwarderPlan {
  const dir = input.socketDir.replace(/\/+$/, "");
  for (const path of [dir, input.socat, input.shell ?? "/bin/sh"]) {
    if (!SAFE_PATH.test(path)) {
      throw new EgressSetupError(
        `egress: the path ${
          JSON.stringify(path)
        } may hold only letters, digits and _ . / - (socat reads other characters as syntax); move the state directory (daemon.state_dir) to such a path`,
      );
    }
  }
  const socket = (name: string) => `${dir}/${name}.sock`;
  if (socket("t999").length > MAX_SOCKET_PATH) {
    throw new EgressSetupError(
      `egress: the socket path ${
        socket("t0")
      } is longer than ${MAX_SOCKET_PATH} bytes (the unix socket limit); use a shorter state directory (daemon.state_dir)`,
    );
  }
  const listeners: EgressListener[] = [{ kind: "proxy", socket: socket("p") }];
  const listens: { ip: string; port: number; socket: string }[] = [];
  const taken = new Set<string>();
  for (const d of input.destinations) {
    const ip = tunnelAddress(d);
    if (ip === null || taken.has(`${ip}:${d.port}`)) continue;
    taken.add(`${ip}:${d.port}`);
    const s = socket(`t${listeners.length - 1}`);
    listeners.push({ kind: "tunnel", socket: s, destination: d });
    listens.push({ ip, port: d.port, socket: s });
  }
  let proxyPort = PROXY_PORT;
  while (taken.has(`127.0.0.1:${proxyPort}`)) proxyPort++;
  listens.unshift({ ip: "127.0.0.1", port: proxyPort, socket: socket("p") });

  const socat = quote(input.socat);
  const lines = [
    // The forwarders belong to the run: they die with its PID namespace. Their stderr would
    // only fill the run's stderr tail with "Broken pipe" when a client hangs up; a forwarder
    // that cannot listen is reported by the wait below.
    ...listens.map((l) =>
      `${socat} TCP-LISTEN:${l.port},bind=${l.ip},reuseaddr,fork,max-children=64 UNIX-CONNECT:${l.socket} </dev/null 2>/dev/null &`
    ),
    // Ready when /proc/net/tcp lists every listener; read with shell builtins (no process per
    // poll: under load each spawn costs tens of ms).
    "ready() {",
    '  for want in "$@"; do',
    "    found=",
    "    while read -r _ local remote st _; do",
    '      if [ "$local $remote $st" = "$want" ]; then found=1; break; fi',
    "    done < /proc/net/tcp",
    '    [ -n "$found" ] || return 1',
    "  done",
    "}",
    "n=0",
    `until ready ${listens.map((l) => quote(procNetTcpListen(l.ip, l.port))).join(" ")}; do`,
    '  n=$((n+1)); if [ "$n" -gt 2000 ]; then',
    '    echo "cmesh egress: the socat forwarders did not start listening" >&2; exit 125',
    "  fi; sleep 0.005",
    "done",
    'exec "$@"',
  ];
  const proxyUrl = `http://127.0.0.1:${proxyPort}`;
  const direct = [
    ...new Set(listeners.flatMap((l) => l.kind === "tunnel" ? [l.destination.host] : [])),
  ];
  const env: Record<string, string> = {
    HTTPS_PROXY: proxyUrl,
    https_proxy: proxyUrl,
    HTTP_PROXY: proxyUrl,
    http_proxy: proxyUrl,
    NO_PROXY: direct.join(","),
    no_proxy: direct.join(","),
    ALL_PROXY: "",
    all_proxy: "",
  };
  return {
    listeners,
    binds: [{ source: dir, dest: dir, writable: false }],
    wrapper: [input.shell ?? "/bin/sh", "-c", lines.join("\n"), "cmesh-egress"],
    env,
    proxyPort,
  };
}
