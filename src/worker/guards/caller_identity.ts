/**
 * @module
 * The second guard: ask tailscaled who owns the connection (LocalAPI whois on the source
 * address and port). No answer, a 404, a timeout or bad JSON means deny.
 */
import type { MiddlewareHandler } from "hono";
import { replyError } from "../../protocol/errors.ts";
import type { WorkerEnv } from "../env.ts";
import type { IdentityLookup, WorkerTasks } from "../ports.ts";

/** Sets `caller` from whois, or answers 403 `unknown_peer` / 503 `identity_unavailable`. */
export function callerIdentity(
  lookup: IdentityLookup,
  audit: Pick<WorkerTasks, "auditDenied">,
): MiddlewareHandler<WorkerEnv> {
  return async (c, next) => {
    const ip = c.get("sourceIp");
    const who = await lookup.whois(ip, c.get("sourcePort"));
    if (!who.ok && who.code === "refused") {
      // Known to tailscaled, but refused by identity rules (expired key, shared-in, self).
      const rule = "identity.refused";
      audit.auditDenied({ sourceIp: ip, rule, reason: who.reason });
      return replyError(c, "forbidden", who.reason, rule);
    }
    if (!who.ok) {
      const unknown = who.code === "not_found";
      const rule = unknown ? "identity.unknown_peer" : "identity.unavailable";
      const reason = unknown
        ? `tailscaled does not know ${ip} (whois: ${who.reason}); only nodes of this tailnet may call`
        : `cannot establish who ${ip} is, so the request is refused (fail closed): ${who.reason}`;
      audit.auditDenied({ sourceIp: ip, rule, reason });
      return unknown
        ? replyError(c, "unknown_peer", reason, rule)
        : replyError(c, "identity_unavailable", reason, rule);
    }
    c.set("caller", who.identity);
    await next();
  };
}
