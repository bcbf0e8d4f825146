/**
 * @module
 * `deno task compile`: the release build. For every target (or `--target <t>`, repeatable) it
 * runs
 *
 * ```sh
 * deno compile --no-prompt <permission flags> --include src/worker/thread.ts \
 *   --target <t> --output dist/build/<t>/cmesh src/main.ts
 * ```
 *
 * then packs `dist/release/cmesh-<t>.tar.gz|zip` and writes `dist/release/SHA256SUMS`.
 *
 * Permissions are the flags of src/util/deno_permissions.ts, the ones `deno task cmesh`, the
 * from-source service unit and the tests use. They are booleans: `deno compile` would bake path
 * entries in as absolute paths of the build machine (research/deno.md §7); the daemon narrows
 * itself per worker at run time. The worker thread is loaded with
 * `new Worker(new URL(...))`, which `deno compile` cannot see statically: hence `--include`.
 *
 * Needs the network (it downloads `denort` for each target): run it in CI (see
 * `.github/workflows/release.yml`), not on an offline machine.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  archiveName,
  binaryName,
  RELEASE_TARGETS,
  writeArchive,
  writeChecksums,
} from "./release_archive.ts";
import { PERMISSION_FLAGS } from "../src/util/deno_permissions.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Modules loaded in ways `deno compile` cannot follow (workers). */
export const EXTRA_MODULES = ["src/worker/thread.ts"];

/** The `deno compile` argument list for one target. */
export function compileArgs(target: string, outDir: string): string[] {
  return [
    "compile",
    "--no-prompt",
    ...PERMISSION_FLAGS,
    ...EXTRA_MODULES.flatMap((m) => ["--include", m]),
    "--target",
    target,
    "--output",
    join(outDir, "build", target, binaryName(target)),
    "src/main.ts",
  ];
}

function parseArgs(args: string[]): { targets: string[]; outDir: string } {
  const targets: string[] = [];
  let outDir = join(ROOT, "dist");
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--target") targets.push(args[++i]);
    else if (args[i] === "--out") outDir = args[++i];
    else throw new Error(`unknown argument ${args[i]} (use --target <t>... --out <dir>)`);
  }
  for (const t of targets) {
    if (!(RELEASE_TARGETS as readonly string[]).includes(t)) {
      throw new Error(`unknown target ${t} (known: ${RELEASE_TARGETS.join(", ")})`);
    }
  }
  return { targets: targets.length ? targets : [...RELEASE_TARGETS], outDir };
}

async function main(): Promise<number> {
  const { targets, outDir } = parseArgs(Deno.args);
  const releaseDir = join(outDir, "release");
  const archives: string[] = [];
  for (const target of targets) {
    console.error(`== ${target}`);
    const out = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(target, outDir),
      cwd: ROOT,
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!out.success) {
      console.error(`deno compile failed for ${target}`);
      return 1;
    }
    archives.push(
      await writeArchive({
        binary: join(outDir, "build", target, binaryName(target)),
        target,
        outDir: releaseDir,
      }),
    );
    console.error(`   ${archiveName(target)}`);
  }
  const sums = await writeChecksums(releaseDir, archives);
  console.error(`== wrote ${sums}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main());
