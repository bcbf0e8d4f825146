/**
 * @module
 * `deno task compile`: the release build. For every target (or `--target <t>`, repeatable) it
 * runs
 *
 * ```sh
 * deno compile --no-prompt -P=cmesh --include src/worker/thread.ts \
 *   --target <t> --output dist/build/<t>/cmesh src/main.ts
 * ```
 *
 * then packs `dist/release/cmesh-<t>.tar.gz|zip` and writes `dist/release/SHA256SUMS`.
 *
 * Permissions come from the single set in deno.json (`permissions.cmesh`, the one `deno task
 * cmesh` and the tests use). `deno compile -P` bakes read/write path entries in as absolute
 * paths of the build machine (research/deno.md §7), so the build refuses a set with relative
 * path entries: the release set must use booleans (the daemon narrows itself per worker at
 * run time) or absolute, machine-independent paths. The worker thread is loaded with
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

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Modules loaded in ways `deno compile` cannot follow (workers). */
export const EXTRA_MODULES = ["src/worker/thread.ts"];

/** The permission set name shared by run, test and compile. */
export const PERMISSION_SET = "cmesh";

/**
 * Problems with a permission set for a release binary: relative path entries (they would be
 * baked in as build-machine paths) and a missing set. Empty when fine.
 */
export function permissionSetProblems(denoJson: unknown, set = PERMISSION_SET): string[] {
  const perms = (denoJson as { permissions?: Record<string, unknown> }).permissions?.[set];
  if (!perms || typeof perms !== "object") return [`deno.json has no permissions.${set}`];
  const problems: string[] = [];
  for (const [kind, value] of Object.entries(perms as Record<string, unknown>)) {
    const lists = typeof value === "object" && value !== null && !Array.isArray(value)
      ? Object.entries(value as Record<string, unknown>).map(([k, v]) => [`${kind}.${k}`, v])
      : [[kind, value]];
    for (const [where, v] of lists as [string, unknown][]) {
      if (!Array.isArray(v) || !["read", "write", "ffi"].includes(kind)) continue;
      for (const entry of v) {
        if (typeof entry === "string" && !/^(\/|[A-Za-z]:[\\/])/.test(entry)) {
          problems.push(
            `permissions.${set}.${where}: "${entry}" is relative; deno compile would bake in this build machine's absolute path — use true, an absolute path, or narrow at run time`,
          );
        }
      }
    }
  }
  return problems;
}

/** The `deno compile` argument list for one target. */
export function compileArgs(target: string, outDir: string): string[] {
  return [
    "compile",
    "--no-prompt",
    `-P=${PERMISSION_SET}`,
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
  const problems = permissionSetProblems(
    JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))),
  );
  if (problems.length) {
    console.error(problems.join("\n"));
    return 1;
  }
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
