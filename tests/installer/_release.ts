/**
 * @module
 * A fake cmesh release for installer tests: per-target archives built by the real packaging
 * code (scripts/release_archive.ts) around a small shell "binary" that answers `--version`
 * itself and runs every other command (`version --json` too) with the real cmesh from source,
 * plus SHA256SUMS; a "binary" that is another program (answers `--version` like the Deno CLI,
 * fails `version --json` as it does: what `deno compile` with DENORT_BIN = a full deno yields);
 * and
 * a local HTTP server (127.0.0.1) laid out like GitHub releases:
 * `/releases/download/v<version>/<file>` and `/releases/latest/download/<file>`.
 */
import { join } from "node:path";
import {
  archiveName,
  RELEASE_TARGETS,
  writeArchive,
  writeChecksums,
} from "../../scripts/release_archive.ts";
import { REPO_ROOT } from "../support/daemon.ts";
import { denoRunArgs } from "../../src/util/deno_permissions.ts";

/** The fake binary's script for a target. */
export function fakeBinary(target: string, version: string): string {
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  return `#!/bin/sh
# fake cmesh ${version} for ${target}
if [ "\${1:-}" = "--version" ]; then echo "cmesh ${version} (fake ${target})"; exit 0; fi
exec ${
    [
      Deno.execPath(),
      ...denoRunArgs(join(REPO_ROOT, "src", "main.ts"), [], join(REPO_ROOT, "deno.json")),
    ]
      .map(q).join(" ")
  } "$@"
`;
}

/**
 * Not cmesh: answers `--version` and `-V` like the Deno CLI and refuses `version` as an
 * unknown subcommand, as the Deno CLI does.
 */
export function denoLikeBinary(target: string): string {
  return `#!/bin/sh
case "\${1:-}" in
  --version | -V) printf 'deno 2.9.6 (stable, release, ${target})\\nv8 14.0\\ntypescript 5.9\\n'; exit 0 ;;
esac
echo "error: unrecognized subcommand '\${1:-}'" >&2
exit 2
`;
}

/** Builds `<dir>/<tag>/` with every unix target's archive and SHA256SUMS. Returns the dir. */
export async function buildRelease(
  dir: string,
  version: string,
  binary: (target: string, version: string) => string = fakeBinary,
): Promise<string> {
  const out = join(dir, `v${version}`);
  const stage = join(dir, "stage", version);
  await Deno.mkdir(stage, { recursive: true });
  const archives: string[] = [];
  for (const target of RELEASE_TARGETS.filter((t) => !t.includes("windows"))) {
    const bin = join(stage, `cmesh-${target}`);
    await Deno.writeTextFile(bin, binary(target, version), { mode: 0o755 });
    archives.push(await writeArchive({ binary: bin, target, outDir: out, extras: [] }));
  }
  await writeChecksums(out, archives);
  return out;
}

/** The archive the installer should pick on this machine. */
export function hostArchive(): string {
  const arch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";
  const os = Deno.build.os === "darwin" ? "apple-darwin" : "unknown-linux-gnu";
  return archiveName(`${arch}-${os}`);
}

/** A running fake release server. */
export interface ReleaseServer {
  /** `http://127.0.0.1:PORT/releases`: the value for CMESH_RELEASE_BASE_URL. */
  base: string;
  /** Paths requested, in order. */
  requests: string[];
  stop(): Promise<void>;
}

/**
 * Serves `<root>/<tag>/<file>` at `/releases/download/<tag>/<file>`, and `latestTag`'s files
 * at `/releases/latest/download/<file>`.
 */
export function serveReleases(root: string, latestTag: string): ReleaseServer {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    const m = /^\/releases\/(?:download\/([^/]+)|latest\/download)\/([^/]+)$/.exec(path);
    if (!m) return new Response("not found", { status: 404 });
    try {
      return new Response(await Deno.readFile(join(root, m[1] ?? latestTag, m[2])));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return {
    base: `http://127.0.0.1:${server.addr.port}/releases`,
    requests,
    stop: () => server.shutdown(),
  };
}
