/**
 * @module
 * The typed error a runner set-up step must fail with, for the runner tests.
 *
 * @example
 * ```ts
 * import { setupError } from "./_setup_error.ts";
 * const err = await setupError(loadManifestFile("/tmp/runner.yaml"));
 * err.code; // "runner_manifest_invalid"
 * ```
 */
import assert from "node:assert/strict";
import { RunnerSetupError } from "../../src/runner/manifest.ts";

function check(e: unknown): RunnerSetupError {
  assert.ok(e instanceof RunnerSetupError, `expected RunnerSetupError, got ${e}`);
  return e;
}

/** The RunnerSetupError `fn` throws; fails the test when it throws nothing or something else. */
export function setupError(fn: () => unknown): RunnerSetupError;
/** The RunnerSetupError `p` rejects with; fails the test when it resolves or rejects otherwise. */
export function setupError(p: Promise<unknown>): Promise<RunnerSetupError>;
export function setupError(
  what: (() => unknown) | Promise<unknown>,
): RunnerSetupError | Promise<RunnerSetupError> {
  if (typeof what === "function") {
    try {
      what();
    } catch (e) {
      return check(e);
    }
    assert.fail("expected an error");
  }
  return what.then(() => assert.fail("expected an error"), check);
}
