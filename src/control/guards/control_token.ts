/**
 * @module
 * The control API's token check: a `Cmesh-HMAC` authorization made with the token (what the CLI
 * and `cmesh mcp` send; the answer then proves the daemon holds the token too, see
 * `control/proof.ts`), or `Authorization: Bearer <token>` (scripts), compared in constant time.
 */
import type { MiddlewareHandler } from "hono";
import { replyError } from "../../protocol/errors.ts";
import { timingSafeEqualString } from "../../util/timing_safe.ts";
import type { ControlEnv } from "../env.ts";
import { daemonProof, PROOF_HEADER, verifyRequest } from "../proof.ts";

/**
 * Requires the token, proven or sent (401 `unauthorized` otherwise); a proven request's answer
 * carries the daemon's proof.
 */
export function controlToken(token: string, tokenFile: string): MiddlewareHandler<ControlEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    if (header.startsWith("Cmesh-HMAC ")) {
      const url = new URL(c.req.url);
      const v = verifyRequest(token, header, c.req.method, url.pathname + url.search);
      if (!v.ok) {
        return replyError(
          c,
          "unauthorized",
          `the request's Cmesh-HMAC authorization does not hold (${v.reason}); the token is in ${tokenFile} (readable only by its owner)`,
        );
      }
      const proof = daemonProof(token, v.nonce);
      await next();
      try {
        c.res.headers.set(PROOF_HEADER, proof);
      } catch {
        c.res = new Response(c.res.body, c.res); // immutable headers: a copy that takes it
        c.res.headers.set(PROOF_HEADER, proof);
      }
      return;
    }
    const m = /^Bearer ([A-Za-z0-9_-]{16,256})$/.exec(header);
    if (!m || !timingSafeEqualString(m[1], token)) {
      c.header("WWW-Authenticate", 'Bearer realm="cmesh"');
      return replyError(
        c,
        "unauthorized",
        `missing or wrong bearer token; it is in ${tokenFile} (readable only by its owner)`,
      );
    }
    await next();
  };
}
