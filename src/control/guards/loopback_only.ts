/**
 * @module
 * Guards of the loopback control API: the connection must come from loopback, the `Host`
 * header must name the loopback listener (a DNS-rebinding page would send its own host), and
 * no browser `Origin` is accepted at all.
 */
import type { MiddlewareHandler } from "hono";
import { errorBody } from "../../protocol/errors.ts";
import type { ControlEnv } from "../env.ts";

/** Host header values that address this listener: `127.0.0.1:P`, `localhost:P`, `[::1]:P`. */
export function allowedHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

/** Rejects non-loopback sources, foreign Host headers and any Origin header (403 `forbidden`). */
export function loopbackOnly(port: number): MiddlewareHandler<ControlEnv> {
  const hosts = allowedHosts(port);
  return async (c, next) => {
    const addr = c.env?.remoteAddr;
    const ip = addr && addr.transport === "tcp" ? addr.hostname.replace(/^::ffff:/, "") : "";
    if (!(ip.startsWith("127.") || ip === "::1")) {
      return c.json(
        errorBody("forbidden", "the control API only serves this machine (loopback)"),
        403,
      );
    }
    const host = (c.req.header("host") ?? "").toLowerCase();
    if (!hosts.has(host)) {
      return c.json(
        errorBody(
          "forbidden",
          `Host "${host}" is not this control API (expected 127.0.0.1:${port}); refused to stop DNS rebinding`,
        ),
        403,
      );
    }
    if (c.req.header("origin") !== undefined) {
      return c.json(
        errorBody(
          "forbidden",
          "browser requests (Origin header) are not accepted by the control API",
        ),
        403,
      );
    }
    await next();
  };
}
