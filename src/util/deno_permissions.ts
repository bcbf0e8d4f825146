/**
 * @module
 * The Deno permissions cmesh runs with: one list of explicit flags, used by everything that
 * starts cmesh from source (`deno task cmesh`, service units, `install-mcp`, the demo, the tests
 * that spawn the CLI) and by the release build (`deno compile`, scripts/compile.ts).
 *
 * Explicit flags rather than a `permissions` set in deno.json (`-P=cmesh`): with a set, Deno
 * prints "Permissions in the config file is an experimental feature" on stderr for every run,
 * which lands in `--json` output, MCP client logs and daemon logs. The deno.json task strings
 * spell the same flags out; tests/installer/permissions_test.ts checks that they agree.
 *
 * The daemon narrows these per worker at run time (daemon/worker_permissions.ts); the flags
 * are booleans so `deno compile` bakes in no build-machine paths.
 *
 * {@link RUNTIME_FLAGS} go with them everywhere: V8's young generation capped at 1 MiB per
 * semi-space (the default grows it to 16). Measured on two daemons (docs/performance.md): an
 * idle worker daemon 8 MiB smaller and the requester 6, peaks with 1,000 tasks in flight 20–30
 * MiB lower in each, at no measured CPU cost. And no short builtin calls: V8 otherwise maps a
 * copy of its builtins' code next to each isolate's code (about 2 MiB each; the worker daemon has
 * two isolates); without it an idle worker daemon is about 1.5 MiB smaller and its peak about 3,
 * for about 1% on a delegation's latency.
 *
 * A `cmesh daemon` that cmesh starts from source (service units, the demo, the tests: all through
 * {@link denoRunArgs}) also gets {@link DAEMON_FLAGS}: no V8 code cache. `deno task cmesh daemon`
 * runs with the task's flags, cache included.
 *
 * @example
 * ```ts
 * import { denoRunArgs } from "./deno_permissions.ts";
 * denoRunArgs("src/main.ts", ["version", "--json"]);
 * // ["run", "--no-prompt", "--allow-read", ..., "--deny-import", "--v8-flags=…", "src/main.ts", "version", "--json"]
 * ```
 */

/** The permission flags of cmesh, in the order the deno.json tasks spell them. */
export const PERMISSION_FLAGS: readonly string[] = Object.freeze([
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-run",
  "--allow-env",
  "--allow-sys",
  // Never needed: no native libraries, no remote modules (npm packages come via the lockfile).
  "--deny-ffi",
  "--deny-import",
]);

/** V8 flags of every cmesh process, after the permission flags (see the module doc for why). */
export const RUNTIME_FLAGS: readonly string[] = Object.freeze([
  "--v8-flags=--max-semi-space-size=1,--no-short-builtin-calls",
]);

/**
 * Deno flags of a `cmesh daemon` run from source, after {@link RUNTIME_FLAGS}: no V8 code cache.
 * With the cache, V8 materialises the cached bytecode of every function in each module it loads
 * (and Deno keeps its cache database mapped); without it V8 compiles only the functions that
 * run. An idle worker daemon holds about 2 MiB less anonymous memory and maps about 0.75 MiB of
 * cache file less (docs/performance.md); the daemon starts a little slower, once. Short-lived
 * commands (`cmesh mcp`, the CLI) keep the cache: their start is what an agent waits for.
 * `deno compile` bakes one set of flags into the binary for every command, so the release keeps
 * the cache (docs/release.md).
 */
export const DAEMON_FLAGS: readonly string[] = Object.freeze(["--no-code-cache"]);

/**
 * Environment of a `cmesh daemon` that cmesh starts (the demo, the tests, a Linux service unit):
 * glibc's allocator limited to two arenas. By default each thread that allocates may get an arena
 * of its own (up to eight per core), and a daemon's threads (its two isolates, V8's helpers,
 * Deno's blocking pool of up to about 40 at start and in bursts) leave freed memory spread over
 * them. With two, an idle worker daemon holds about 1 MiB less (docs/performance.md). Other C
 * libraries ignore the variable; runners never see it (their environment is an allowlist). A
 * value already in the environment wins (`daemon/spawn.ts`); a daemon started by hand runs with
 * whatever environment its shell gives it.
 */
export const DAEMON_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_ARENA_MAX: "2",
});

/**
 * The `deno` argument list that runs `main` (a path to src/main.ts, or another entry point of
 * the repository) with cmesh's permissions, its V8 flags and no prompts; `config` adds `--config <deno.json>`
 * for callers whose working directory is not the checkout. When `args` starts with `daemon`,
 * {@link DAEMON_FLAGS} come after the runtime flags.
 */
export function denoRunArgs(
  main: string,
  args: readonly string[] = [],
  config?: string,
): string[] {
  return [
    "run",
    "--no-prompt",
    ...PERMISSION_FLAGS,
    ...RUNTIME_FLAGS,
    ...(args[0] === "daemon" ? DAEMON_FLAGS : []),
    ...(config ? ["--config", config] : []),
    main,
    ...args,
  ];
}
