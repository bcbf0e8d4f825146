/**
 * @module
 * `cmesh version`.
 */
import { PROTOCOL, VERSION } from "../../version.ts";
import { type CommonOptions, emit } from "../output.ts";

/** Prints the cmesh version, wire protocol and Deno runtime version. */
export function version(opts: CommonOptions): Promise<void> {
  emit(
    opts,
    { version: VERSION, protocol: PROTOCOL, deno: Deno.version.deno },
    () => `cmesh ${VERSION}`,
  );
  return Promise.resolve();
}
