/**
 * @module
 * The control API's bearer token check, constant-time.
 */
import type { MiddlewareHandler } from "hono";
import { replyError } from "../../protocol/errors.ts";
import { timingSafeEqualString } from "../../util/timing_safe.ts";
import type { ControlEnv } from "../env.ts";

/** Requires `Authorization: Bearer <token>` (401 `unauthorized` otherwise). */
export function bearerToken(token: string, tokenFile: string): MiddlewareHandler<ControlEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
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
