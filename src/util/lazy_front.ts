/**
 * @module
 * How a daemon answers a request through an HTTP front that is built at the first request: the
 * worker thread's (`worker/front.ts`) and the control API's (`daemon/control_side.ts`), each
 * imported lazily so an idle daemon does not hold zod, hono and their routes. This module has
 * neither, so an idle thread can hold it.
 *
 * @example
 * ```ts
 * import { answerThroughFront } from "./lazy_front.ts";
 * import { lazily } from "./lazily.ts";
 * const front = lazily(async () => (await import("../worker/front.ts")).createFront(deps));
 * Deno.serve((req, info) =>
 *   answerThroughFront(front, req, info.remoteAddr as Deno.NetAddr, "worker")
 * );
 * declare const deps: import("../worker/front.ts").FrontDeps;
 * ```
 */
import { errorReply } from "../protocol/errors.ts";
import { logger } from "./log.ts";

/** An HTTP front: answers one request, given the connection's own source address. */
export interface LazyFront {
  fetch(req: Request, remoteAddr: Deno.NetAddr): Response | Promise<Response>;
}

/** Which front: the worker's tailnet API or the daemon's loopback control API. */
export type FrontArea = "worker" | "control";

const WHO: Record<FrontArea, string> = { worker: "the worker", control: "the control API" };

/**
 * One request through the front, built at the first one. A front that cannot be built (its
 * import failed) answers 500 with why, in the API's error shape, and the next request tries
 * again; nothing is served meanwhile (fail closed). `area` names the front in that answer and
 * is the log's category.
 */
export async function answerThroughFront(
  front: () => Promise<LazyFront>,
  req: Request,
  remoteAddr: Deno.NetAddr,
  area: FrontArea,
): Promise<Response> {
  const who = WHO[area];
  let built: LazyFront;
  try {
    built = await front();
  } catch (e) {
    logger(area).error(`${who} cannot load its request handling: {error}`, {
      error: String(e),
    });
    const { status, body } = errorReply(
      "internal",
      `${who} cannot load its request handling (${(e as Error).message}); see the daemon's log`,
    );
    return Response.json(body, { status });
  }
  return await built.fetch(req, remoteAddr);
}
