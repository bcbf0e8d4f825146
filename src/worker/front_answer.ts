/**
 * @module
 * How the worker thread answers a request through its HTTP front, which is built at the first
 * request (`front.ts`, imported lazily by `thread.ts`). Without zod or hono, so the idle thread
 * can hold it.
 *
 * @example
 * ```ts
 * import { answerThroughFront } from "./front_answer.ts";
 * import { lazily } from "../util/lazily.ts";
 * const front = lazily(async () => (await import("./front.ts")).createFront(deps));
 * Deno.serve((req, info) => answerThroughFront(front, req, info.remoteAddr as Deno.NetAddr));
 * declare const deps: import("./front.ts").FrontDeps;
 * ```
 */
import { errorReply } from "../protocol/errors.ts";
import { logger } from "../util/log.ts";
import type { Front } from "./front.ts";

const log = logger("worker");

/**
 * One request through the front, built at the first one. A front that cannot be built (its
 * import failed) answers 500 with why, in the API's error shape, and the next request tries
 * again; nothing is admitted meanwhile (fail closed).
 */
export async function answerThroughFront(
  front: () => Promise<Front>,
  req: Request,
  remoteAddr: Deno.NetAddr,
): Promise<Response> {
  let built: Front;
  try {
    built = await front();
  } catch (e) {
    log.error("the worker cannot load its request handling: {error}", { error: String(e) });
    const { status, body } = errorReply(
      "internal",
      `the worker cannot load its request handling (${(e as Error).message}); see the daemon's log`,
    );
    return Response.json(body, { status });
  }
  return await built.fetch(req, remoteAddr);
}
