/**
 * @module
 * The first guard of every worker request: the connection's own source address must be a
 * tailnet address. Headers are never consulted. Loopback sources are accepted only in the
 * explicitly configured userspace-networking mode (or the local demo), and whois still runs.
 */
import type { MiddlewareHandler } from "hono";
import { isLoopbackIp, isTailnetIp, normalizeIp } from "../../tailscale/addr.ts";
import { replyError } from "../../protocol/errors.ts";
import type { WorkerEnv } from "../env.ts";
import type { WorkerTasks } from "../ports.ts";

/** Which non-tailnet sources are tolerated, and by which explicit switch. */
export interface SourceOptions {
  /** `tailscale.userspace_networking = true`: sources arrive from loopback. */
  allowLoopback: boolean;
}

/** Rejects any connection whose source is not a tailnet address (403 `not_tailnet`). */
export function tailnetSource(
  opts: SourceOptions,
  audit: Pick<WorkerTasks, "auditDenied">,
): MiddlewareHandler<WorkerEnv> {
  return async (c, next) => {
    const addr = c.env?.remoteAddr;
    if (!addr || (addr.transport !== "tcp" && addr.transport !== "udp")) {
      return replyError(c, "not_tailnet", "connection has no TCP source address");
    }
    const ip = normalizeIp(addr.hostname);
    const ok = ip !== null && (isTailnetIp(ip) || (opts.allowLoopback && isLoopbackIp(ip)));
    if (!ok) {
      const reason =
        `source address ${addr.hostname} is not a tailnet address (100.64.0.0/10 or fd7a:115c:a1e0::/48); ` +
        "cmesh workers only serve peers on your tailnet";
      audit.auditDenied({ sourceIp: addr.hostname, rule: "source.not_tailnet", reason });
      return replyError(c, "not_tailnet", reason, "source.not_tailnet");
    }
    c.set("sourceIp", ip);
    c.set("sourcePort", addr.port);
    await next();
  };
}
