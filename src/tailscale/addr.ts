/**
 * @module
 * Tailnet address rules, pure and dependency-free: parse and canonicalise IP address text,
 * un-map IPv4-mapped IPv6, and classify an address as a possible tailnet peer source.
 *
 * Rules (from tailscale `net/tsaddr`):
 * - IPv4 tailnet range: `100.64.0.0/10` (RFC 6598 CGNAT) **minus** the ChromeOS VM range
 *   `100.115.92.0/23`, which Tailscale never allocates from (`tsaddr.IsTailscaleIP`).
 * - IPv6 tailnet range: `fd7a:115c:a1e0::/48`.
 * - Tailscale's service ("quad100") addresses `100.100.100.100` and `fd7a:115c:a1e0::53` lie
 *   inside the ranges but are never a node's address: tailscaled itself answers there (MagicDNS,
 *   web client). A TCP connection can therefore not legitimately *come from* them, so
 *   {@link isTailnetIp} says `false` for them and {@link classifyIp} names them
 *   `"tailscale-service"`. Callers reject them before asking whois.
 * - The 4via6 sub-range `fd7a:115c:a1e0:b1a::/64` (subnet-router site mapping) stays inside the
 *   tailnet class: it is a prefilter only, and whois (which answers 404 for non-node
 *   addresses) is the authority.
 *
 * `::ffff:a.b.c.d` (and its hex form `::ffff:6440:102`) is what a `[::]` listener reports for an
 * IPv4 caller; tailscaled older than v1.102.0 answers 404 for that form, so everything here
 * un-maps first.
 *
 * @example
 * ```ts
 * import { normalizeIp, isTailnetIp, formatWhoisAddr } from "./addr.ts";
 * normalizeIp("[::FFFF:100.64.0.2]"); // "100.64.0.2"
 * isTailnetIp("::ffff:6440:2");        // true (100.64.0.2)
 * formatWhoisAddr("fd7a:115c:a1e0::2", 443); // "[fd7a:115c:a1e0::2]:443"
 * ```
 */

/** What kind of address a (normalised) IP is, from the caller check's point of view. */
export type IpClass =
  /** In a Tailscale range and usable by a node: the only class a peer can connect from. */
  | "tailnet"
  /** Tailscale's own service address (quad100): never a connection source. */
  | "tailscale-service"
  /** Inside 100.64.0.0/10 but in the ChromeOS VM range Tailscale never allocates. */
  | "chromeos-vm"
  /** 127.0.0.0/8 or ::1 (userspace-networking forwards arrive from here). */
  | "loopback"
  /** Any other valid address (LAN, internet, link-local, ...). */
  | "other"
  /** Not an IP address at all. */
  | "invalid";

/** Tailscale's IPv4 service address (MagicDNS, web client). */
export const TAILSCALE_SERVICE_IPV4 = "100.100.100.100";
/** Tailscale's IPv6 service address. */
export const TAILSCALE_SERVICE_IPV6 = "fd7a:115c:a1e0::53";

/** Parse strict dotted-quad IPv4 (no leading zeros, as Go's netip). */
function parseIpv4(s: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const out: number[] = [];
  for (let i = 1; i <= 4; i++) {
    const part = m[i];
    // "010" is octal to inet_aton but an error to Go: reject the ambiguity.
    if (part.length > 1 && part.startsWith("0")) return null;
    const n = Number(part);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

/** Parse IPv6 text (no zone, no brackets) into 8 16-bit groups. */
function parseIpv6(s: string): number[] | null {
  if (s.length === 0 || s.length > 45) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parseSide = (side: string, allowV4Tail: boolean): number[] | null => {
    if (side === "") return [];
    const parts = side.split(":");
    const groups: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (allowV4Tail && i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIpv4(p);
        if (!v4) return null;
        groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
      groups.push(parseInt(p, 16));
    }
    return groups;
  };
  if (halves.length === 1) {
    const groups = parseSide(halves[0], true);
    return groups && groups.length === 8 ? groups : null;
  }
  const head = parseSide(halves[0], false);
  const tail = parseSide(halves[1], true);
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return null; // "::" must stand for at least one zero group
  return [...head, ...new Array<number>(missing).fill(0), ...tail];
}

/** RFC 5952 text: lowercase, no leading zeros, longest run (>= 2) of zero groups as "::". */
function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLen).join(":");
  return `${head}::${tail}`;
}

/** True when the 8 groups are `::ffff:a.b.c.d`. */
function isMappedV4(groups: number[]): boolean {
  return groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
}

/**
 * Canonical text for an IP address, or `null` when `s` is not one.
 *
 * Strips `[...]` brackets and an IPv6 zone (`%eth0`), un-maps `::ffff:a.b.c.d` and its hex form
 * to plain IPv4, and writes IPv6 in RFC 5952 form (lowercase, compressed). IPv4 must be strict
 * dotted-quad without leading zeros. No whitespace trimming: a source address never has any.
 *
 * @example
 * ```ts
 * normalizeIp("::ffff:100.64.0.2");        // "100.64.0.2"
 * normalizeIp("FD7A:115C:A1E0:0:0:0:0:1"); // "fd7a:115c:a1e0::1"
 * normalizeIp("fe80::1%eth0");             // "fe80::1"
 * normalizeIp("100.64.0.2:80");            // null (use parseHostPort)
 * ```
 */
export function normalizeIp(s: string): string | null {
  if (typeof s !== "string" || s.length === 0 || s.length > 64) return null;
  let text = s;
  if (text.startsWith("[") || text.endsWith("]")) {
    if (!(text.startsWith("[") && text.endsWith("]"))) return null;
    text = text.slice(1, -1);
    if (!text.includes(":")) return null; // brackets are only for IPv6
  }
  const v4 = parseIpv4(text);
  if (v4) return v4.join(".");
  const zoneAt = text.indexOf("%");
  if (zoneAt !== -1) {
    const zone = text.slice(zoneAt + 1);
    if (zone.length === 0 || /[\s%\[\]]/.test(zone)) return null;
    text = text.slice(0, zoneAt);
  }
  const groups = parseIpv6(text);
  if (!groups) return null;
  if (isMappedV4(groups)) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join(".");
  }
  return formatIpv6(groups);
}

/** True when a normalised address is IPv6 (contains a colon). */
export function isIpv6(normalized: string): boolean {
  return normalized.includes(":");
}

/**
 * Classify an address (any accepted spelling) for the caller check.
 *
 * @example
 * ```ts
 * classifyIp("100.100.100.100"); // "tailscale-service"
 * classifyIp("100.115.92.7");    // "chromeos-vm"
 * classifyIp("192.0.2.3");       // "other"
 * ```
 */
export function classifyIp(s: string): IpClass {
  const ip = normalizeIp(s);
  if (ip === null) return "invalid";
  if (!isIpv6(ip)) {
    const [a, b, c] = ip.split(".").map(Number);
    if (a === 127) return "loopback";
    if (ip === TAILSCALE_SERVICE_IPV4) return "tailscale-service";
    if (a === 100 && b === 115 && (c === 92 || c === 93)) return "chromeos-vm";
    if (a === 100 && b >= 64 && b <= 127) return "tailnet";
    return "other";
  }
  if (ip === "::1") return "loopback";
  if (ip === TAILSCALE_SERVICE_IPV6) return "tailscale-service";
  const groups = parseIpv6(ip) as number[];
  if (groups[0] === 0xfd7a && groups[1] === 0x115c && groups[2] === 0xa1e0) return "tailnet";
  return "other";
}

/**
 * True when `s` is an address a tailnet node can connect from: inside `100.64.0.0/10` or
 * `fd7a:115c:a1e0::/48` (mapped forms included), excluding the ChromeOS VM range and
 * Tailscale's service addresses. A prefilter only: whois decides who it is.
 *
 * @example
 * ```ts
 * isTailnetIp("100.64.0.0");      // true
 * isTailnetIp("100.128.0.0");     // false
 * isTailnetIp("100.100.100.100"); // false (service address)
 * ```
 */
export function isTailnetIp(s: string): boolean {
  return classifyIp(s) === "tailnet";
}

/** True when `s` is a loopback address (127.0.0.0/8, ::1, or their mapped forms). */
export function isLoopbackIp(s: string): boolean {
  return classifyIp(s) === "loopback";
}

/** An IP (normalised) and a port. */
export interface HostPort {
  ip: string;
  port: number;
}

/** Parse a decimal port 0..65535 (no sign, no leading zeros beyond "0"). */
function parsePort(s: string): number | null {
  if (!/^(0|[1-9]\d{0,4})$/.test(s)) return null;
  const n = Number(s);
  return n <= 65535 ? n : null;
}

/**
 * Parse `a.b.c.d:port` or `[v6]:port` (zone allowed inside the brackets). Bare IPv6 with a port
 * is ambiguous and rejected. The IP comes back normalised (un-mapped).
 *
 * @example
 * ```ts
 * parseHostPort("[::ffff:100.64.0.2]:41641"); // { ip: "100.64.0.2", port: 41641 }
 * parseHostPort("fd7a::1:80");                // null
 * ```
 */
export function parseHostPort(s: string): HostPort | null {
  if (typeof s !== "string" || s.length === 0 || s.length > 80) return null;
  let hostText: string;
  let portText: string;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close === -1 || s[close + 1] !== ":") return null;
    hostText = s.slice(1, close);
    if (!hostText.includes(":")) return null;
    portText = s.slice(close + 2);
  } else {
    const colon = s.lastIndexOf(":");
    if (colon === -1) return null;
    hostText = s.slice(0, colon);
    if (hostText.includes(":")) return null; // bare IPv6: needs brackets
    portText = s.slice(colon + 1);
  }
  const ip = normalizeIp(hostText);
  const port = parsePort(portText);
  if (ip === null || port === null) return null;
  return { ip, port };
}

/**
 * The `addr` value tailscaled's whois expects: `ip:port`, or `[v6]:port` for IPv6. The IP is
 * normalised first (so `::ffff:` callers are looked up as IPv4).
 *
 * @throws {TypeError} when `ip` is not an IP address or `port` is not 0..65535.
 * @example
 * ```ts
 * formatWhoisAddr("::ffff:100.64.0.2", 1234); // "100.64.0.2:1234"
 * ```
 */
export function formatWhoisAddr(ip: string, port: number): string {
  const normalized = normalizeIp(ip);
  if (normalized === null) throw new TypeError(`not an IP address: ${JSON.stringify(ip)}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`not a port number: ${port}`);
  }
  return isIpv6(normalized) ? `[${normalized}]:${port}` : `${normalized}:${port}`;
}
