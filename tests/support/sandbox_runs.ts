/**
 * Test support for real sandboxed runs: the host's git, a runner whose prompt is a `/bin/sh`
 * script, and a Linux test in a fresh directory under /var/tmp (not /tmp: a sandbox mounts its
 * own over /tmp).
 */
import { parseManifest, type RunnerManifest } from "../../src/runner/manifest.ts";

/** The host's git binary, or undefined without one. */
export const GIT: string | undefined = ["/usr/bin/git", "/bin/git"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

/** A runner whose prompt is a `/bin/sh -c` script, under `edit` and `query`. */
export const SH_RUNNER: RunnerManifest = parseManifest({
  name: "sh",
  binary: "/bin/sh",
  base_args: ["-c"],
  profiles: { edit: { args: [] }, query: { args: [] } },
  prompt: { via: "arg", end_of_options: false },
  output: "text",
}, "inline");

/**
 * A test on Linux (with git when `git`), given a fresh realpath'd dir under /var/tmp, removed after.
 */
export function varTmpTest(
  name: string,
  opts: { prefix: string; git?: boolean },
  fn: (base: string) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: Deno.build.os !== "linux" || (opts.git === true && GIT === undefined),
    async fn() {
      const base = await Deno.realPath(
        await Deno.makeTempDir({ dir: "/var/tmp", prefix: opts.prefix }),
      );
      try {
        await fn(base);
      } finally {
        await Deno.remove(base, { recursive: true });
      }
    },
  });
}
