/**
 * @module
 * Go net/http and netip behaviour the LocalAPI double imitates: `http.Error` bodies, response
 * framing (chunked above 2 KiB), `Request.Host` for absolute-form targets, tailscaled's
 * `validHost`, and address parsing as `netip.ParseAddr` compares addresses. Written
 * independently of `src/tailscale/addr.ts` (WHATWG URL parsing for IPv6), so the double cannot
 * share that module's bugs.
 *
 * @example
 * ```ts
 * import { goCanonicalAddr } from "./localapi_gowire.ts";
 * goCanonicalAddr("FD7A:115C:A1E0:0:0:0:0:2"); // "fd7a:115c:a1e0::2"
 * ```
 */
/**
 * Canonical text for an address as Go's netip would compare it, implemented independently of
 * `src/tailscale/addr.ts` (WHATWG URL parsing for IPv6) so the double cannot share its bugs.
 * Returns null when Go's `netip.ParseAddr` would fail.
 */
export function goCanonicalAddr(text: string): string | null {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const parts = text.split(".");
    if (parts.some((p) => (p.length > 1 && p[0] === "0") || Number(p) > 255)) return null;
    return parts.map(Number).join(".");
  }
  if (!text.includes(":")) return null;
  const zoneAt = text.indexOf("%");
  const bare = zoneAt === -1 ? text : text.slice(0, zoneAt);
  if (zoneAt !== -1 && zoneAt === text.length - 1) return null;
  try {
    const host = new URL(`http://[${bare}]/`).hostname;
    return host.slice(1, -1);
  } catch {
    return null;
  }
}

/** `::ffff:a.b.c.d` (as WHATWG prints it, `::ffff:XXXX:XXXX`) → IPv4, else unchanged. */
export function unmap(canon: string): string {
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canon);
  if (!m) return canon;
  const hi = parseInt(m[1], 16);
  const lo = parseInt(m[2], 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join(".");
}

/** Go's `http.Error`. */
export function goError(status: number, msg: string, extra?: Headers): Response {
  const headers = new Headers(extra);
  headers.set("Content-Type", "text/plain; charset=utf-8");
  headers.set("X-Content-Type-Options", "nosniff");
  const nullBody = status === 204 || status === 304 || (status >= 100 && status < 200);
  return new Response(nullBody ? null : `${msg}\n`, { status, headers });
}

/** Body as Go's net/http would frame it: Content-Length up to 2 KiB, chunked beyond. */
export function goBody(text: string | Uint8Array): BodyInit {
  const bytes: Uint8Array<ArrayBuffer> = typeof text === "string"
    ? new TextEncoder().encode(text)
    : new Uint8Array(text);
  if (bytes.length <= 2048) return bytes;
  return new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytes.subarray(0, 2048));
      c.enqueue(bytes.subarray(2048));
      c.close();
    },
  });
}

/**
 * Go's `Request.Host`: the Host header for origin-form requests, but the URL's host for
 * absolute-form ones (`GET http://h/p`), which is what a proxy-style client sends. Deno shows
 * origin-form requests on a unix socket as `http+unix://...` and absolute-form ones verbatim.
 */
export function goRequestHost(req: Request): string {
  if (req.url.startsWith("http+unix:")) return req.headers.get("host") ?? "";
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(req.url);
  return m ? m[1] : "";
}

export function validHost(host: string, passwordSet: boolean): boolean {
  if (host === "" || host === "local-tailscaled.sock") return true;
  if (!passwordSet) return false;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(host);
  if (!m) return false;
  const h = m[1] ?? m[2];
  if (h === "localhost") return true;
  const canon = goCanonicalAddr(h);
  return canon !== null && (canon.startsWith("127.") || canon === "::1");
}
