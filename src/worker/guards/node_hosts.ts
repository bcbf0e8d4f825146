/**
 * @module
 * Which `Host` header values name this worker: the node's tailnet addresses (IPv6 in
 * brackets, any spelling of the same address), its MagicDNS name (with or without the
 * trailing dot) and its short host name, each with or without `:<worker port>`. Anything else
 * (a DNS-rebinding page's `evil.example:7433`, another port, no Host) is refused by
 * `util/front_door.ts`. The short name is accepted because `outbound.peers[].address` may be
 * written that way; a browser reaches a single-label name only through a search domain, and
 * browsers send `Origin` on every POST anyway.
 *
 * In the local demo the worker listens on loopback and accepts the loopback names instead.
 *
 * @example
 * ```ts
 * import { NodeHosts } from "./node_hosts.ts";
 * const hosts = new NodeHosts(7433);
 * hosts.set({ addresses: ["100.64.0.1"], dnsName: "worker.tail1.ts.net", name: "worker" });
 * hosts.allowed("worker.tail1.ts.net.:7433"); // true
 * hosts.allowed("evil.example:7433");         // false
 * ```
 */
import { normalizeIp } from "../../tailscale/addr.ts";
import { loopbackHosts } from "../../util/front_door.ts";

/** The parts of this node's status the Host check needs. */
export interface NodeNames {
  addresses: readonly string[];
  /** MagicDNS FQDN without the trailing dot (`""` without MagicDNS). */
  dnsName: string;
  /** Short host name. */
  name: string;
}

/** Splits a Host header into host and optional port; null when malformed. */
export function splitHost(host: string): { name: string; port: number | null } | null {
  const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9._-]+))(?::(\d{1,5}))?$/i.exec(host);
  if (!m) return null;
  return {
    name: (m[1] ?? m[2]).toLowerCase(),
    port: m[3] === undefined ? null : Number(m[3]),
  };
}

/** The Host names this node answers to, replaceable when tailscaled reports a change. */
export class NodeHosts {
  readonly #port: number;
  #ips = new Set<string>();
  #names = new Set<string>();
  #loopback: Set<string> | null = null;

  constructor(port: number) {
    this.#port = port;
  }

  /** Local demo: accept exactly the loopback names with the port. */
  static loopback(port: number): NodeHosts {
    const h = new NodeHosts(port);
    h.#loopback = loopbackHosts(port);
    return h;
  }

  /** Replaces the names (from LocalAPI status); `null` (no self node known) accepts nothing. */
  set(self: NodeNames | null): void {
    const ips = new Set<string>();
    const names = new Set<string>();
    for (const a of self?.addresses ?? []) {
      const ip = normalizeIp(a);
      if (ip !== null) ips.add(ip);
    }
    const dns = (self?.dnsName ?? "").toLowerCase().replace(/\.$/, "");
    if (dns !== "") {
      names.add(dns);
      const short = dns.split(".")[0];
      if (self && short === self.name.toLowerCase()) names.add(short);
    }
    this.#ips = ips;
    this.#names = names;
  }

  /** True when `host` (a Host header value) names this node on the worker port. */
  allowed(host: string): boolean {
    if (this.#loopback) return this.#loopback.has(host.toLowerCase());
    const parts = splitHost(host);
    if (!parts || (parts.port !== null && parts.port !== this.#port)) return false;
    const bracketed = host.startsWith("[");
    const ip = normalizeIp(parts.name);
    if (ip !== null) {
      // IPv6 must be bracketed in a Host header; an IPv4 must not be.
      if (ip.includes(":") !== bracketed) return false;
      return this.#ips.has(ip);
    }
    if (bracketed) return false;
    const name = parts.name.endsWith(".") ? parts.name.slice(0, -1) : parts.name;
    return this.#names.has(name);
  }

  /** What is accepted, for refusal messages. */
  describe(): string {
    if (this.#loopback) return [...this.#loopback].join(", ");
    const all = [
      ...[...this.#ips].map((ip) => (ip.includes(":") ? `[${ip}]` : ip)),
      ...this.#names,
    ];
    return all.length
      ? `${all.join(", ")} (optionally with :${this.#port})`
      : "this node's tailnet names, which tailscaled has not reported";
  }
}
