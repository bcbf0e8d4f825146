/**
 * @module
 * Egress destinations (`host:port`) and the addresses a run must never reach through them.
 * Pure: parsing, normalising and classifying only, no DNS.
 *
 * A destination is exact: a lowercase DNS name, an IPv4 literal or a bracketed IPv6 literal,
 * always with a port. There are no wildcards, so `api.anthropic.com:443` allows that name on
 * that port and nothing else.
 *
 * @example
 * ```ts
 * import { destinationFromUrl, parseDestination } from "./destination.ts";
 * parseDestination("API.Anthropic.com:443"); // { host: "api.anthropic.com", port: 443 }
 * destinationFromUrl("http://127.0.0.1:8080/v1"); // { host: "127.0.0.1", port: 8080 }
 * ```
 */

/** One allowed destination. `host` is normalised (lowercase; IPv6 without brackets). */
export interface Destination {
  host: string;
  port: number;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** True for a dotted-quad IPv4 literal with every part 0–255. */
export function isIpv4(host: string): boolean {
  const m = IPV4.exec(host);
  return m !== null && m.slice(1).every((p) => Number(p) <= 255 && String(Number(p)) === p);
}

/** True for an IPv6 literal (without brackets), as far as a URL parser accepts it. */
export function isIpv6(host: string): boolean {
  if (!host.includes(":") || !/^[0-9a-f:.]+$/i.test(host)) return false;
  try {
    new URL(`http://[${host}]/`);
    return true;
  } catch {
    return false;
  }
}

function isDnsName(host: string): boolean {
  if (host.length > 253 || !host.includes(".") && host !== "localhost") return false;
  const labels = host.split(".");
  // A name whose last label is numeric would be read as an IPv4 address by resolvers.
  if (/^\d+$/.test(labels.at(-1)!)) return false;
  return labels.every((l) => LABEL.test(l));
}

/** `host:port` text of a destination (IPv6 in brackets). */
export function formatDestination(d: Destination): string {
  return d.host.includes(":") ? `[${d.host}]:${d.port}` : `${d.host}:${d.port}`;
}

/**
 * Parses `host:port` (`[v6]:port` for IPv6). Names are lowercased; a trailing dot, wildcards,
 * user info and missing ports are refused.
 *
 * @throws {Error} naming what is wrong, e.g. `"api.anthropic.com": missing :port`
 */
export function parseDestination(text: string): Destination {
  const bad = (why: string) => new Error(`${JSON.stringify(text)}: ${why}`);
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text.trim());
  if (!m) {
    throw bad(
      text.includes(":") ? "must be host:port (IPv6 as [addr]:port)" : "missing :port",
    );
  }
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw bad("port must be 1 to 65535");
  let host = m[1].toLowerCase();
  if (host.startsWith("[")) {
    host = host.slice(1, -1);
    if (!isIpv6(host)) throw bad("not an IPv6 address inside [ ]");
    return { host: normaliseIpv6(host), port };
  }
  if (isIpv4(host)) return { host, port };
  if (host.endsWith(".")) throw bad("write the name without a trailing dot");
  if (!isDnsName(host)) {
    throw bad(
      "must be a DNS name (letters, digits, '-', dot-separated), an IPv4 address or [IPv6]",
    );
  }
  return { host, port };
}

function normaliseIpv6(host: string): string {
  return new URL(`http://[${host}]/`).hostname.slice(1, -1);
}

/**
 * The destination a base URL points at (`http`/`https` only; default ports 80/443), or null
 * for anything that is not such a URL.
 */
export function destinationFromUrl(text: string): Destination | null {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
  try {
    return parseDestination(`${url.hostname}:${port}`);
  } catch {
    return null;
  }
}

/** Parses a 4-part IPv4 address into its bytes. */
function ipv4Bytes(host: string): number[] | null {
  return isIpv4(host) ? host.split(".").map(Number) : null;
}

/** The IPv4 address embedded in an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), else null. */
function mappedIpv4(host: string): string | null {
  const h = host.toLowerCase();
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (dotted) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (!hex) return null;
  const hi = parseInt(hex[1], 16), lo = parseInt(hex[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/**
 * Why an address (a literal, as seen after connecting) is one a run must not reach through a
 * *name*: loopback (the worker's control API and every local service), link-local (cloud
 * metadata), unspecified, or the tailnet's CGNAT / ULA ranges (other nodes). Null when it is an
 * ordinary address. A destination that names such an address literally is the operator's
 * explicit choice and is not checked.
 */
export function localAddressReason(address: string): string | null {
  const v4 = ipv4Bytes(address) ?? ipv4Bytes(mappedIpv4(address) ?? "");
  if (v4) {
    const [a, b] = v4;
    if (a === 127) return "a loopback address";
    if (a === 0) return "an unspecified address";
    if (a === 169 && b === 254) return "a link-local address";
    if (a === 100 && b >= 64 && b <= 127) return "a tailnet (100.64.0.0/10) address";
    return null;
  }
  const h = address.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "::1") return "a loopback address";
  if (h === "::") return "an unspecified address";
  if (/^fe[89ab][0-9a-f]:/.test(h)) return "a link-local address";
  if (h.startsWith("fd7a:115c:a1e0:")) return "a tailnet (fd7a:115c:a1e0::/48) address";
  return null;
}

/** True when `host` is a loopback literal or `localhost`. */
export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  return (isIpv4(host) || isIpv6(host)) && localAddressReason(host) === "a loopback address";
}
