/**
 * @module
 * `cmesh daemon` without the command tree. A daemon runs for months; building the whole
 * `commander` program for its one parse would keep the Node compatibility layer's CommonJS loader
 * and every command's options in its memory for all that time (about 3 MiB, see
 * docs/performance.md). Its few options are parsed here with `node:util`'s `parseArgs`, which the
 * daemon loads anyway. Anything this parse does not take cleanly (`--help`, an unknown option, a
 * missing value) goes to the full CLI instead, so usage errors and help read exactly as for every
 * other command.
 *
 * @example
 * ```ts
 * const code = await runDaemonEntry(["--config", "/etc/cmesh/config.toml"]);
 * if (code === undefined) {
 *   // not for this fast path: run the full CLI (cli/program.ts) with the same arguments
 * }
 * ```
 */
import { parseArgs } from "node:util";
import { reportError } from "./output.ts";

/** The options `cmesh daemon` takes: the same as cli/program.ts declares (a test keeps them so). */
export const DAEMON_OPTIONS = {
  json: { type: "boolean" },
  config: { type: "string" },
  "env-file": { type: "string" },
  "local-only": { type: "boolean" },
  "insecure-local-demo": { type: "string" },
} as const;

/** The daemon command's options as the command tree would hand them to its action. */
export interface DaemonArgs {
  json?: boolean;
  config?: string;
  envFile?: string;
  localOnly?: boolean;
  insecureLocalDemo?: string;
}

/**
 * Parses the arguments after `daemon`, or returns `undefined` when the full CLI should take
 * them: help, an unknown option, a positional argument, a missing or repeated value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(daemonArgs(["--json", "--env-file=/x/service.env"]), {
 *   json: true,
 *   envFile: "/x/service.env",
 * });
 * assert.equal(daemonArgs(["--help"]), undefined);
 * ```
 */
export function daemonArgs(argv: string[]): DaemonArgs | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: DAEMON_OPTIONS,
      strict: true,
      allowPositionals: false,
      tokens: false,
    }));
  } catch {
    return undefined;
  }
  // An option given twice, or a value that looks like an option (`--config --json`), is left
  // to the command tree, which has its own rules for them.
  const names = argv.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]);
  if (new Set(names).size !== names.length) return undefined;
  const out: DaemonArgs = {};
  if (values.json) out.json = true;
  if (values.config !== undefined) out.config = values.config;
  if (values["env-file"] !== undefined) out.envFile = values["env-file"];
  if (values["local-only"]) out.localOnly = true;
  if (values["insecure-local-demo"] !== undefined) {
    out.insecureLocalDemo = values["insecure-local-demo"];
  }
  for (const v of [out.config, out.envFile, out.insecureLocalDemo]) {
    if (v !== undefined && v.startsWith("-")) return undefined;
  }
  return out;
}

/**
 * Runs `cmesh daemon` from the arguments after `daemon` and returns its exit code, or
 * `undefined` when they are for the full CLI (see {@link daemonArgs}). Errors are reported as
 * the CLI reports them (`--json` or text).
 */
export async function runDaemonEntry(argv: string[]): Promise<number | undefined> {
  const args = daemonArgs(argv);
  if (!args) return undefined;
  try {
    const { daemon } = await import("./commands/daemon.ts");
    await daemon(args);
    return Deno.exitCode || 0;
  } catch (e) {
    return reportError(e, args.json === true);
  }
}
