/**
 * @module
 * The built-in runner manifests: `claude`, `codex` and `demo`.
 *
 * @example
 * ```ts
 * import { builtinManifests } from "./mod.ts";
 * builtinManifests().map((m) => m.name); // ["claude", "codex", "demo"]
 * ```
 */
import type { RunnerManifest } from "../manifest.ts";
import { claudeManifest } from "./claude.ts";
import { codexManifest } from "./codex.ts";
import { demoManifest } from "./demo.ts";

export { claudeManifest } from "./claude.ts";
export { codexManifest } from "./codex.ts";
export { demoInvocationPrefix, demoManifest } from "./demo.ts";

/** All built-in manifests; the demo one is resolved for the running Deno executable. */
export function builtinManifests(): RunnerManifest[] {
  return [claudeManifest, codexManifest, demoManifest()];
}
