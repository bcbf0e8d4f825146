/**
 * @module
 * One real tailscaled node in its own namespace, in kernel TUN mode (`--tun=tailscale0`), with
 * its own `--socket` and `--statedir` (all namespaces share one file system), and everything
 * that could reach out switched off:
 *
 * | setting | why |
 * | --- | --- |
 * | `--no-logs-no-support`, `TS_NO_LOGS_NO_SUPPORT=1` | no log uploads (headscale also turns logtail off) |
 * | `TS_PANIC_IF_HIT_MAIN_CONTROL=1` | a stray use of the default control URL is a crash, not a dial |
 * | `TS_DISABLE_PORTMAPPER=1` | no UPnP/NAT-PMP/PCP probing |
 * | `TS_DEBUG_FIREWALL_MODE=nftables` | netfilter rules via netlink: no iptables binary needed |
 * | `SSL_CERT_FILE=<test CA>` | trust headscale's test certificate (control + DERP) |
 * | `tailscale up --accept-dns=false` | never rewrite the shared /etc/resolv.conf |
 *
 * `persistentTun` pre-creates `tailscale0` as a persistent TUN device: when tailscaled is then
 * killed, the device keeps its tailnet addresses (a non-persistent one vanishes with the
 * process), which lets a test show what the worker does when a tailnet-addressed connection
 * arrives and tailscaled is gone.
 *
 * @example
 * ```ts
 * import { startNode } from "./node.ts";
 * const n = await startNode({ role: "laptop", ns: "cmtn-x-laptop", dir: "/tmp/laptop", bins, caPem });
 * await n.up(authKey, "https://198.18.0.1:8443");
 * console.log((await n.status()).Self);
 * ```
 */
import { join } from "node:path";
import type { TailnetBins } from "./bins.ts";
import { ip } from "../support/netns.ts";
import { type CommandOutput, run } from "../support/proc.ts";
import { type LoggedProcess, spawnLogged, tail, waitUntil } from "./proc.ts";

/** The parts of `tailscale status --json` the harness reads. */
export interface StatusJson {
  BackendState: string;
  TUN: boolean;
  TailscaleIPs: string[] | null;
  Self: { HostName: string; DNSName: string; TailscaleIPs: string[] | null; Online: boolean };
  Peer: Record<string, { HostName: string; TailscaleIPs: string[] | null; Online: boolean }> | null;
}

/** A node. */
export interface TailnetNode {
  role: string;
  ns: string;
  dir: string;
  socket: string;
  log: string;
  /** The running tailscaled, or null after {@link TailnetNode.kill}. */
  process: LoggedProcess | null;
  /** `tailscale --socket=<this node's> ...args` inside the node's namespace. */
  cli(...args: string[]): Promise<CommandOutput>;
  /** Joins the tailnet with a pre-auth key; resolves once the node is Running. */
  up(authKey: string, loginServer: string): Promise<void>;
  status(): Promise<StatusJson>;
  /** The node's IPv4 tailnet address. */
  ipv4(): Promise<string>;
  /** `tailscale whois --json <addr>` as this node's tailscaled answers it, or null on "no match". */
  whois(addr: string): Promise<Record<string, unknown> | null>;
  /** Stops tailscaled with `signal` (SIGKILL: no clean-up, like a crash). */
  kill(signal: Deno.Signal): Promise<void>;
}

/** Starts tailscaled for `role` in namespace `ns` and waits until its LocalAPI answers. */
export async function startNode(o: {
  role: string;
  ns: string;
  dir: string;
  bins: TailnetBins;
  caPem: string;
  persistentTun?: boolean;
}): Promise<TailnetNode> {
  await Deno.mkdir(join(o.dir, "state"), { recursive: true });
  const socket = join(o.dir, "tailscaled.sock");
  const log = join(o.dir, "tailscaled.log");
  if (o.persistentTun) {
    await ip("-n", o.ns, "tuntap", "add", "dev", "tailscale0", "mode", "tun");
  }
  const env = {
    HOME: o.dir,
    TS_NO_LOGS_NO_SUPPORT: "1",
    TS_LOGS_DIR: o.dir,
    TS_PANIC_IF_HIT_MAIN_CONTROL: "1",
    TS_DISABLE_PORTMAPPER: "1",
    TS_DEBUG_FIREWALL_MODE: "nftables",
    SSL_CERT_FILE: o.caPem,
  };
  const process = spawnLogged(
    o.ns,
    [
      o.bins.tailscaled,
      "--tun=tailscale0",
      `--socket=${socket}`,
      `--statedir=${join(o.dir, "state")}`,
      "--port=41641",
      "--no-logs-no-support",
    ],
    log,
    env,
  );
  const cli = (...args: string[]) =>
    run([o.bins.tailscale, `--socket=${socket}`, ...args], {
      ns: o.ns,
      clearEnv: true,
      env: { HOME: o.dir, PATH: "/usr/bin:/bin", SSL_CERT_FILE: o.caPem },
      timeoutMs: 60_000,
    });
  const node: TailnetNode = {
    role: o.role,
    ns: o.ns,
    dir: o.dir,
    socket,
    log,
    process,
    cli,
    async up(authKey, loginServer) {
      const r = await cli(
        "up",
        `--login-server=${loginServer}`,
        `--authkey=${authKey}`,
        `--hostname=${o.role}`,
        "--accept-dns=false",
        "--reset",
        "--timeout=60s",
      );
      if (r.code !== 0) {
        throw new Error(
          `tailscale up on ${o.role} failed (${r.code}): ${r.stderr}\n${await tail(log)}`,
        );
      }
      await waitUntil(`${o.role} to be Running`, async () => {
        const s = await node.status();
        return s.BackendState === "Running" && (s.TailscaleIPs ?? []).length > 0 ? true : undefined;
      });
    },
    async status() {
      const r = await cli("status", "--json");
      if (r.code !== 0) throw new Error(`tailscale status on ${o.role}: ${r.stderr.trim()}`);
      return JSON.parse(r.stdout) as StatusJson;
    },
    async ipv4() {
      const ip = ((await node.status()).TailscaleIPs ?? []).find((a) => !a.includes(":"));
      if (!ip) throw new Error(`${o.role} has no IPv4 tailnet address`);
      return ip;
    },
    async whois(addr) {
      const r = await cli("whois", "--json", addr);
      if (r.code !== 0) {
        if (/no match|not found|404/i.test(r.stderr + r.stdout)) return null;
        throw new Error(`tailscale whois ${addr} on ${o.role}: ${r.stderr.trim()}`);
      }
      return JSON.parse(r.stdout);
    },
    async kill(signal) {
      const p = node.process;
      node.process = null;
      await p?.stop(signal, 10_000);
    },
  };
  try {
    await waitUntil(`tailscaled on ${o.role} to answer`, async () => {
      const r = await cli("status", "--json");
      return r.code === 0 || /NeedsLogin|Logged out/i.test(r.stdout + r.stderr) ? true : undefined;
    }, 30_000);
  } catch (e) {
    await process.stop("SIGKILL");
    throw new Error(`${(e as Error).message}\ntailscaled log:\n${await tail(log)}`);
  }
  return node;
}
