/**
 * @module
 * zod, as every cmesh module imports it: configured before any schema is built.
 *
 * `jitless`: zod compiles a fast parser for each object schema with `new Function` the first
 * time it parses one. A daemon parses few objects per second; without those generated parsers an
 * idle worker daemon holds about 0.4 MiB less anonymous memory (37.1 against 37.4 MiB, four starts
 * each, alternated), and no code is generated at run time. The setting is read when a schema is
 * built, so it must come before the first `z.object()`: every module imports zod from here
 * (`tests/deps/zod_test.ts` checks that none imports `"zod"` itself).
 *
 * @example
 * ```ts
 * import { z } from "./zod.ts";
 * const Point = z.object({ x: z.number(), y: z.number() });
 * Point.parse({ x: 1, y: 2 });
 * ```
 */
import { z } from "zod";

z.config({ jitless: true });

export * from "zod";
