/**
 * @module
 * Strict JSON request bodies for both HTTP surfaces: `application/json` only, bounded size,
 * valid UTF-8, valid JSON, then a zod schema. Each failure is a 4xx with a message that says
 * what to fix.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { TaskRequest } from "../protocol/task.ts";
 * new Hono().post("/v1/tasks", async (c) => {
 *   const parsed = await readJsonBody(c, TaskRequest, 256 * 1024);
 *   if (!parsed.ok) return c.json(parsed.body, parsed.status);
 *   return c.json({ id: parsed.value.id }, 202);
 * });
 * ```
 */
import type { Context } from "hono";
import type { z } from "../deps/zod.ts";
import { ERROR_STATUS, errorBody, type ErrorCode } from "../protocol/errors.ts";
import type { ApiError } from "../protocol/task.ts";
import { readBoundedBytes } from "./bounded_body.ts";
import { issuesLine } from "./zod_issues.ts";

/** The outcome of reading a body. */
export type BodyResult<T> =
  | { ok: true; value: T; bytes: number }
  | { ok: false; status: 400 | 413 | 415; body: ApiError };

function fail<T>(code: ErrorCode, message: string): BodyResult<T> {
  return {
    ok: false,
    status: ERROR_STATUS[code] as 400 | 413 | 415,
    body: errorBody(code, message),
  };
}

/** Reads and validates a JSON body against `schema`. Never throws for client mistakes. */
export async function readJsonBody<S extends z.ZodType>(
  c: Context,
  schema: S,
  maxBytes: number,
): Promise<BodyResult<z.infer<S>>> {
  const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
    return fail(
      "unsupported_media_type",
      `send the body as Content-Type: application/json (got "${type || "none"}")`,
    );
  }
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > maxBytes) {
    return fail("payload_too_large", `body is ${declared} bytes; the limit is ${maxBytes}`);
  }
  const bytes = await readBoundedBytes(c.req.raw.body, maxBytes);
  if (bytes === null) {
    return fail("payload_too_large", `body exceeds the limit of ${maxBytes} bytes`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail("invalid_json", "body is not valid UTF-8");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail("invalid_json", `body is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = schema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    return fail("invalid_request", issuesLine(parsed.error.issues, 10));
  }
  return { ok: true, value: parsed.data, bytes: bytes.byteLength };
}
