/**
 * @module
 * `deno task compile`: the release build. For every target (or `--target <t>`, repeatable) it
 * runs
 *
 * ```sh
 * deno compile --no-prompt <permission flags> <V8 flags> --include src/worker/thread.ts \
 *   --target <t> --output dist/build/<t>/cmesh src/main.ts
 * ```
 *
 * then packs `dist/release/cmesh-<t>.tar.gz|zip` and writes `dist/release/SHA256SUMS`.
 *
 * Permissions and V8 flags are those of src/util/deno_permissions.ts, the ones `deno task cmesh`, the
 * from-source service unit and the tests use. They are booleans: `deno compile` would bake path
 * entries in as absolute paths of the build machine (research/deno.md §7); the daemon narrows
 * itself per worker at run time. The worker thread is loaded with
 * `new Worker(new URL(...))`, which `deno compile` cannot see statically: hence `--include`.
 *
 * Needs the network (it downloads `denort` for each target): run it in CI (see
 * `.github/workflows/release.yml`), not on an offline machine.
 *
 * It refuses a `DENORT_BIN` that is a full Deno CLI: `deno compile` then embeds cmesh into the
 * Deno CLI, and the "release" answers `deno --version` but not `cmesh version`. And it runs the
 * binary it built for this machine's target (`version --json`: name "cmesh", this version)
 * before packing anything.
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
import { PERMISSION_FLAGS, RUNTIME_FLAGS } from "../src/util/deno_permissions.ts";
import { VERSION } from "../src/version.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Modules loaded in ways `deno compile` cannot follow (workers). */
export const EXTRA_MODULES = ["src/worker/thread.ts"];

/** The `deno compile` argument list for one target. */
export function compileArgs(target: string, outDir: string): string[] {
  return [
    "compile",
    "--no-prompt",
    ...PERMISSION_FLAGS,
    ...RUNTIME_FLAGS,
    ...EXTRA_MODULES.flatMap((m) => ["--include", m]),
    "--target",
    target,
    "--output",
    join(outDir, "build", target, binaryName(target)),
    "src/main.ts",
  ];
}

/** What running `bin args...` printed (stdin closed), or why it could not run. */
async function probe(
  bin: string,
  args: string[],
): Promise<{ ok: boolean; stdout: string; stderr: string } | { error: string }> {
  try {
    const out = await new Deno.Command(bin, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    return { ok: out.success, stdout: text(out.stdout), stderr: text(out.stderr) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Why `denortBin` (the value of `DENORT_BIN`) cannot be the runtime of a release, or null.
 * A denort runs only the program embedded in it and ignores its arguments; the full Deno CLI
 * answers `--version` with "deno x.y.z" and runs subcommands such as `eval`.
 *
 * @example
 * ```ts
 * import { denortProblem } from "./compile.ts";
 * await denortProblem(Deno.execPath()); // "DENORT_BIN=… is the full Deno CLI …"
 * ```
 */
export async function denortProblem(denortBin: string): Promise<string | null> {
  const fix =
    "deno compile would embed cmesh into the Deno CLI, and the release would answer `--version` as deno but not `cmesh version`. Point DENORT_BIN at a denort binary (denort-<target>.zip of the same Deno release) or unset it";
  const version = await probe(denortBin, ["--version"]);
  if ("error" in version) return `DENORT_BIN=${denortBin} cannot be run: ${version.error}`;
  const said = /^deno \d+\.\d+\.\d+/m.exec(version.stdout);
  if (said) {
    return `DENORT_BIN=${denortBin} is the full Deno CLI (\`--version\` printed "${
      said[0]
    }"): ${fix}`;
  }
  const marker = "cmesh-denort-probe";
  const evaluated = await probe(denortBin, ["eval", `console.log("${marker}")`]);
  if (!("error" in evaluated) && evaluated.stdout.includes(marker)) {
    return `DENORT_BIN=${denortBin} is the full Deno CLI (it ran \`eval\`): ${fix}`;
  }
  return null;
}

/**
 * Why `binary` is not cmesh {@link VERSION}, or null: it is run with `version --json`, which
 * must succeed and say `"name": "cmesh"` and this version (the installers check the same).
 */
export async function builtBinaryProblem(
  binary: string,
  version = VERSION,
): Promise<string | null> {
  const r = await probe(binary, ["version", "--json"]);
  if ("error" in r) return `${binary} cannot be run: ${r.error}`;
  const said = `${r.stdout}${r.stderr}`.trim().split("\n").slice(0, 3).join(" | ");
  if (!r.ok) return `${binary} is not cmesh: \`version --json\` failed (${said})`;
  let body: { name?: unknown; version?: unknown };
  try {
    body = JSON.parse(r.stdout);
  } catch {
    return `${binary} is not cmesh: \`version --json\` printed no JSON (${said})`;
  }
  if (body.name !== "cmesh") return `${binary} is not cmesh: \`version --json\` said ${said}`;
  if (body.version !== version) {
    return `${binary} is cmesh ${String(body.version)}, not ${version}`;
  }
  return null;
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
  const denortBin = Deno.env.get("DENORT_BIN");
  if (denortBin) {
    const problem = await denortProblem(denortBin);
    if (problem) {
      console.error(`refusing to build: ${problem}`);
      return 1;
    }
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
    const binary = join(outDir, "build", target, binaryName(target));
    if (target === Deno.build.target) {
      // The one build this machine can run: it must be cmesh before anything is packed.
      const problem = await builtBinaryProblem(binary);
      if (problem) {
        console.error(`refusing to pack: ${problem}`);
        return 1;
      }
      console.error(`   ran ${binary} version --json: cmesh ${VERSION}`);
    }
    archives.push(
      await writeArchive({
        binary,
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
