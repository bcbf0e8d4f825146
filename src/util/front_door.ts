/**
 * @module
 * The browser and Host guard both HTTP surfaces share (the loopback control API and the
 * tailnet worker API). Neither is meant for browsers, and a DNS-rebinding page in a browser
 * on an allowed machine could otherwise drive them as that machine: it sends its own host
 * name in `Host`, and browsers add `Origin` (every POST, every cross-origin request) and
 * `Sec-Fetch-Site`. So a request is refused (403 `forbidden`) when
 *
 * - it carries `Origin` at all (rule `front.origin`), or `Sec-Fetch-Site` with any value but
 *   `same-origin`/`none` (`cross-site`, `same-site`, unknown; also `front.origin`);
 * - its `Host` is missing or not one the surface accepts (rule `front.host`), checked by the
 *   surface's own predicate (loopback names for the control API, this node's tailnet
 *   addresses and MagicDNS names for the worker).
 *
 * The check reads only headers, so it runs before any I/O; `onDenied` lets a surface audit.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * const app = new Hono();
 * app.use("*", frontDoor({
 *   hostAllowed: (h) => h === "127.0.0.1:7434",
 *   expected: () => "127.0.0.1:7434",
 * }));
 * ```
 */
import type { Context, MiddlewareHandler } from "hono";
import { replyError } from "../protocol/errors.ts";
import type { RuleId } from "../protocol/rules.ts";

/** Rule ids of the guard's refusals. */
export type FrontDoorRule = Extract<RuleId, `front.${string}`>;

/** What the guard needs from a surface. */
export interface FrontDoorOptions {
  /** True when `host` (the raw `Host` header, lowercased) names this listener. */
  hostAllowed(host: string): boolean;
  /** What was expected, for the refusal message (e.g. `127.0.0.1:7434`). */
  expected(): string;
  /** Called for each refusal before it is answered (e.g. to audit it). */
  // deno-lint-ignore no-explicit-any
  onDenied?(c: Context<any>, rule: FrontDoorRule, reason: string): void;
  /** Name of the surface in messages. Default "this API". */
  surface?: string;
}

/** Host header values that address a loopback listener: `127.0.0.1:P`, `localhost:P`, `[::1]:P`. */
export function loopbackHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

/** The refusal for a request's browser headers and Host, or null when they are acceptable. */
export function frontDoorRefusal(
  headers: { get(name: string): string | null | undefined },
  opts: Pick<FrontDoorOptions, "hostAllowed" | "expected" | "surface">,
): { rule: FrontDoorRule; reason: string } | null {
  const surface = opts.surface ?? "this API";
  const origin = headers.get("origin");
  if (origin !== null && origin !== undefined) {
    return {
      rule: "front.origin",
      reason: `browser requests (Origin header ${
        JSON.stringify(origin.slice(0, 100))
      }) are not accepted by ${surface}`,
    };
  }
  const site = headers.get("sec-fetch-site");
  if (site !== null && site !== undefined && site !== "same-origin" && site !== "none") {
    return {
      rule: "front.origin",
      reason: `browser requests (Sec-Fetch-Site: ${
        JSON.stringify(site.slice(0, 40))
      }) are not accepted by ${surface}`,
    };
  }
  const host = (headers.get("host") ?? "").toLowerCase();
  if (!opts.hostAllowed(host)) {
    return {
      rule: "front.host",
      reason: `Host ${
        JSON.stringify(host.slice(0, 260))
      } is not ${surface} (expected ${opts.expected()}); refused to stop DNS rebinding`,
    };
  }
  return null;
}

/** The guard as Hono middleware: 403 `forbidden` with the rule, else on to the next handler. */
// deno-lint-ignore no-explicit-any
export function frontDoor(opts: FrontDoorOptions): MiddlewareHandler<any> {
  return async (c, next) => {
    const refusal = frontDoorRefusal(c.req.raw.headers, opts);
    if (refusal) {
      opts.onDenied?.(c, refusal.rule, refusal.reason);
      return replyError(c, "forbidden", refusal.reason, refusal.rule);
    }
    await next();
  };
}
