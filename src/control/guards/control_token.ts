/**
 * @module
 * The control API's token check: a `Cmesh-HMAC` authorization made with the token (what the CLI
 * and `cmesh mcp` send; the answer then proves the daemon holds the token too, see
 * `control/proof.ts`), or `Authorization: Bearer <token>` (scripts), compared in constant time.
 * A signed request's sealed body is opened here, so the routes read plain JSON either way.
 */
import type { MiddlewareHandler } from "hono";
import { replyError } from "../../protocol/errors.ts";
import { timingSafeEqualString } from "../../util/timing_safe.ts";
import type { ControlEnv } from "../env.ts";
import { readBoundedBytes } from "../../util/bounded_body.ts";
import {
  daemonProof,
  PROOF_HEADER,
  SEAL_OVERHEAD,
  SEALED_TYPE,
  unsealBody,
  verifyRequest,
} from "../proof.ts";

/**
 * Requires the token, proven or sent (401 `unauthorized` otherwise); a proven request's answer
 * carries the daemon's proof, and its sealed body (at most `maxBodyBytes` once opened) is opened.
 */
export function controlToken(
  token: string,
  tokenFile: string,
  maxBodyBytes: number,
): MiddlewareHandler<ControlEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    if (header.startsWith("Cmesh-HMAC ")) {
      const url = new URL(c.req.url);
      const path = url.pathname + url.search;
      const v = verifyRequest(token, header, c.req.method, path);
      if (!v.ok) {
        return replyError(
          c,
          "unauthorized",
          `the request's Cmesh-HMAC authorization does not hold (${v.reason}); the token is in ${tokenFile} (readable only by its owner)`,
        );
      }
      const proof = daemonProof(token, v.nonce);
      const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
      if (type === SEALED_TYPE) {
        const sealed = await readBoundedBytes(c.req.raw.body, maxBodyBytes + SEAL_OVERHEAD);
        if (sealed === null) {
          return replyError(
            c,
            "payload_too_large",
            `body exceeds the limit of ${maxBodyBytes} bytes`,
          );
        }
        const body = unsealBody(token, v.nonce, c.req.method, path, sealed);
        if (body === null) {
          return replyError(
            c,
            "bad_request",
            "the sealed body was not sealed for this request with this daemon's control token",
          );
        }
        // The routes read the opened body as any JSON body (bounds, UTF-8, schema).
        const headers = new Headers(c.req.raw.headers);
        headers.set("content-type", "application/json");
        headers.set("content-length", String(body.byteLength));
        c.req.raw = new Request(c.req.raw.url, { method: c.req.method, headers, body });
      }
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
