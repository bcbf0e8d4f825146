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

/** PIDs of the processes whose whole command line contains `pattern` (`pgrep -f`). */
export async function pidsMatching(pattern: string): Promise<number[]> {
  const out = await new Deno.Command("pgrep", { args: ["-f", pattern], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map(Number);
}

/**
 * Waits (bounded, about 5 s) until no process's command line contains `pattern`, and returns what
 * is still left then ([] once none is). A killed sandbox's processes go a moment after bwrap.
 */
export async function untilNoneMatch(pattern: string): Promise<number[]> {
  let left = await pidsMatching(pattern);
  for (let i = 0; i < 100 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    left = await pidsMatching(pattern);
  }
  return left;
}

/** The pattern of the launchers of sandboxes started ahead under `dir` (`runner/sandbox/warm.ts`). */
export const warmLaunchersUnder = (dir: string): string => `cmesh-warm ${dir}/`;
