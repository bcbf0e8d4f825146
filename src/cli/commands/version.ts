/**
 * @module
 * `cmesh version`.
 */
import { PROTOCOL, VERSION } from "../../version.ts";
import { type CommonOptions, emit } from "../output.ts";

/**
 * Prints the cmesh version, wire protocol and Deno runtime version. `name` lets the installers
 * tell cmesh from another program in a release archive (scripts/install.sh checks it).
 */
export function version(opts: CommonOptions): Promise<void> {
  emit(
    opts,
    { name: "cmesh", version: VERSION, protocol: PROTOCOL, deno: Deno.version.deno },
    () => `cmesh ${VERSION}`,
  );
  return Promise.resolve();
}
