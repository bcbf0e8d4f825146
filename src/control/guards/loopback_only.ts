/**
 * @module
 * Guards of the loopback control API: the connection must come from loopback, then the
 * shared browser/Host guard (`util/front_door.ts`): the `Host` header must name the loopback
 * listener (a DNS-rebinding page would send its own host), and no browser `Origin` (or
 * cross-site `Sec-Fetch-Site`) is accepted at all.
 */
import type { MiddlewareHandler } from "hono";
import { replyError } from "../../protocol/errors.ts";
import { isLoopbackIp } from "../../tailscale/addr.ts";
import { frontDoor, loopbackHosts } from "../../util/front_door.ts";
import type { ControlEnv } from "../env.ts";

/** Host header values that address this listener: `127.0.0.1:P`, `localhost:P`, `[::1]:P`. */
export function allowedHosts(port: number): Set<string> {
  return loopbackHosts(port);
}

/** Rejects non-loopback sources, foreign Host headers and any Origin header (403 `forbidden`). */
export function loopbackOnly(port: number): MiddlewareHandler<ControlEnv> {
  const hosts = allowedHosts(port);
  const browserAndHost = frontDoor({
    hostAllowed: (h) => hosts.has(h),
    expected: () => `127.0.0.1:${port}`,
    surface: "the control API",
  });
  return async (c, next) => {
    const addr = c.env?.remoteAddr;
    const ip = addr && addr.transport === "tcp" ? addr.hostname : "";
    if (!isLoopbackIp(ip)) {
      return replyError(c, "forbidden", "the control API only serves this machine (loopback)");
    }
    return await browserAndHost(c, next);
  };
}
