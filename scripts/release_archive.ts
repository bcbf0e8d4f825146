/**
 * @module
 * Release packaging, separate from compilation so it can be tested with a fake binary: the
 * build targets, the archive names the installers expect, the archives themselves
 * (`cmesh-<target>.tar.gz` holding `cmesh`, or `cmesh-<target>.zip` holding `cmesh.exe`, each
 * with LICENSE and README.md) and `SHA256SUMS` (`<sha256>  <file>` per line, as `sha256sum
 * -c` reads it).
 *
 * Archive names carry no version: a release is a directory (`.../download/v0.1.0/`), so
 * `.../latest/download/cmesh-<target>.tar.gz` always names the newest build.
 *
 * @example
 * ```ts
 * import { archiveName, writeArchive, writeChecksums } from "./release_archive.ts";
 * archiveName("x86_64-unknown-linux-gnu"); // "cmesh-x86_64-unknown-linux-gnu.tar.gz"
 * const a = await writeArchive({ binary: "dist/build/x86_64-unknown-linux-gnu/cmesh", target: "x86_64-unknown-linux-gnu", outDir: "dist/release" });
 * await writeChecksums("dist/release", [a]);
 * ```
 */
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The `deno compile --target` values of a release, with how the installers name them. */
export const RELEASE_TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;
/** One release target. */
export type ReleaseTarget = typeof RELEASE_TARGETS[number];

/** Whether a target is Windows (zip + `.exe`). */
export function isWindowsTarget(target: string): boolean {
  return target.includes("windows");
}

/** The executable's name inside the archive. */
export function binaryName(target: string): string {
  return isWindowsTarget(target) ? "cmesh.exe" : "cmesh";
}

/** The archive's file name, as install.sh / install.ps1 compute it. */
export function archiveName(target: string): string {
  return `cmesh-${target}.${isWindowsTarget(target) ? "zip" : "tar.gz"}`;
}

/** Lower-case hex SHA-256 of a file. */
export async function sha256File(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function run(program: string, args: string[], cwd?: string): Promise<void> {
  const out = await new Deno.Command(program, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(
      `${program} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
}

/** Inputs of {@link writeArchive}. */
export interface ArchiveInput {
  /** The compiled executable. */
  binary: string;
  target: string;
  /** Where the archive goes (created if missing). */
  outDir: string;
  /** Extra files placed next to the binary (default: LICENSE and README.md when present). */
  extras?: string[];
}

/**
 * Packs the binary (renamed to `cmesh` / `cmesh.exe`, mode 0755) and the extras at the top
 * level of the archive. Uses the system `tar` (gzip) or `zip`. Returns the archive's path.
 */
export async function writeArchive(input: ArchiveInput): Promise<string> {
  await Deno.mkdir(input.outDir, { recursive: true });
  const stage = await Deno.makeTempDir({ prefix: "cmesh-stage-" });
  try {
    const name = binaryName(input.target);
    await Deno.copyFile(input.binary, join(stage, name));
    await Deno.chmod(join(stage, name), 0o755);
    const extras = input.extras ?? await defaultExtras();
    for (const f of extras) await Deno.copyFile(f, join(stage, basename(f)));
    const files = [name, ...extras.map((f) => basename(f))];
    const archive = join(await Deno.realPath(input.outDir), archiveName(input.target));
    await Deno.remove(archive).catch(() => {});
    if (isWindowsTarget(input.target)) await run("zip", ["-q", "-X", archive, ...files], stage);
    else await run("tar", ["-czf", archive, ...files], stage);
    return archive;
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
}

async function defaultExtras(): Promise<string[]> {
  const root = new URL("../", import.meta.url);
  const found: string[] = [];
  for (const name of ["LICENSE", "README.md"]) {
    const path = fileURLToPath(new URL(name, root));
    try {
      await Deno.stat(path);
      found.push(path);
    } catch { /* optional */ }
  }
  return found;
}

/** The `SHA256SUMS` text for these files (sorted by name, two spaces, trailing newline). */
export async function checksumsText(files: string[]): Promise<string> {
  const lines = await Promise.all(
    [...files].sort((a, b) => basename(a).localeCompare(basename(b))).map(async (f) =>
      `${await sha256File(f)}  ${basename(f)}`
    ),
  );
  return lines.join("\n") + "\n";
}

/** Writes `<dir>/SHA256SUMS` for the files and returns its path. */
export async function writeChecksums(dir: string, files: string[]): Promise<string> {
  const path = join(dir, "SHA256SUMS");
  await Deno.writeTextFile(path, await checksumsText(files));
  return path;
}
