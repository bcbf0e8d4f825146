/**
 * scripts/install.sh against a fake release served on 127.0.0.1, in a temporary HOME, run by
 * the system `sh`: the happy path (checksum verified, binary in ~/.local/bin, PATH advice,
 * agents registered — checked with the real `claude mcp list` / `codex mcp list` when those
 * CLIs are installed — and gone again after `cmesh uninstall`), a re-run that changes
 * nothing, and the refusals: checksum mismatch, no checksum entry, unknown architecture,
 * unknown OS. A fake `uname` first on PATH plays other machines.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT, tempDir } from "../support/daemon.ts";
import { cleanEnv, codexMcpList, listDir, mustSucceed, which } from "../setup/_helpers.ts";
import { run } from "../support/proc.ts";
import { VERSION } from "../../src/version.ts";
import {
  buildRelease,
  denoLikeBinary,
  fakeBinary,
  hostArchive,
  type ReleaseServer,
  serveReleases,
} from "./_release.ts";

const INSTALLER = join(REPO_ROOT, "scripts", "install.sh");
/** The good release: the version the real cmesh (run by the fake binary) reports. */
const GOOD = VERSION;
const POSIX = Deno.build.os !== "windows";

interface World {
  dir: string;
  home: string;
  server: ReleaseServer;
  run(extra?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }>;
  cleanup(): Promise<void>;
}

/** A POSIX-only test in a fresh {@link world}, cleaned up after. */
function installerTest(name: string, fn: (w: World) => Promise<void>): void {
  Deno.test({
    name,
    ignore: !POSIX,
    async fn() {
      const w = await world();
      try {
        await fn(w);
      } finally {
        await w.cleanup();
      }
    },
  });
}

/**
 * A release dir with v{@link GOOD} (good, also "latest"), v0.0.9 (wrong checksum), v0.0.8 (no
 * entry), v0.0.7 (holds cmesh GOOD: the wrong version), v0.0.6 (holds a Deno-CLI-like program).
 */
async function world(): Promise<World> {
  const tmp = await tempDir("cmesh-installer-");
  const releases = join(tmp.path, "releases");
  await buildRelease(releases, GOOD);
  await buildRelease(releases, "0.0.7"); // its fake runs the real cmesh, which says GOOD
  await buildRelease(releases, "0.0.6", denoLikeBinary);
  const bad = await buildRelease(releases, "0.0.9");
  const sums = await Deno.readTextFile(join(bad, "SHA256SUMS"));
  await Deno.writeTextFile(
    join(bad, "SHA256SUMS"),
    sums.replace(/^[0-9a-f]{64}/gm, "0".repeat(64)),
  );
  const none = await buildRelease(releases, "0.0.8");
  await Deno.writeTextFile(join(none, "SHA256SUMS"), "");
  const server = serveReleases(releases, `v${GOOD}`);
  const home = join(tmp.path, "home");
  await Deno.mkdir(home);
  return {
    dir: tmp.path,
    home,
    server,
    async run(extra = {}) {
      const env = cleanEnv(home, {
        CMESH_RELEASE_BASE_URL: server.base,
        CMESH_VERSION: GOOD,
        ...extra,
      });
      delete env.SHELL;
      const { code, stdout, stderr } = await run(["sh", INSTALLER], { env, clearEnv: true });
      return { code, stdout, stderr };
    },
    async cleanup() {
      await server.stop();
      await tmp.cleanup();
    },
  };
}

/** A directory holding a `uname` that reports this OS and machine. */
async function fakeUname(dir: string, os: string, machine: string): Promise<string> {
  const bin = join(dir, `uname-${os}-${machine}`);
  await Deno.mkdir(bin, { recursive: true });
  await Deno.writeTextFile(
    join(bin, "uname"),
    `#!/bin/sh\ncase "\${1:-}" in -m) echo ${machine} ;; *) echo ${os} ;; esac\n`,
    { mode: 0o755 },
  );
  return `${bin}:${Deno.env.get("PATH")}`;
}

installerTest(
  "install.sh: verified install into ~/.local/bin, PATH advice, agents registered; uninstall removes them",
  async (w) => {
    const claude = which("claude");
    const codex = which("codex");
    if (!claude) console.warn("SKIP claude mcp list part: the claude CLI is not installed");
    if (!codex) console.warn("SKIP codex mcp list part: the codex CLI is not installed");
    if (claude) {
      await mustSucceed(
        claude,
        ["mcp", "add", "--scope", "user", "mine", "--", "/bin/echo", "x"],
        cleanEnv(w.home),
      );
    }
    if (codex) {
      await mustSucceed(codex, ["mcp", "add", "mine", "--", "/bin/echo", "x"], cleanEnv(w.home));
    }

    const r = await w.run();
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const bin = join(w.home, ".local", "bin", "cmesh");
    assert.ok(
      w.server.requests.includes(`/releases/download/v${GOOD}/${hostArchive()}`),
      w.server.requests.join("\n"),
    );
    assert.ok(w.server.requests.includes(`/releases/download/v${GOOD}/SHA256SUMS`));
    assert.match(r.stdout, /checksum verified \([0-9a-f]{64}\)/);
    assert.match(r.stdout, new RegExp(`installed ${bin}`));
    // The staged binary was run (the fake hands `version --json` to the real cmesh).
    assert.ok(
      r.stdout.includes(`cmesh ${GOOD} (checked with 'cmesh version --json')`),
      r.stdout,
    );
    assert.match(r.stdout, /is not on your PATH\. Add it with:/);
    assert.match(r.stdout, /export PATH=.*\.local\/bin:\$PATH.*\.profile/);
    assert.match(r.stdout, /help me set up cmesh/);
    const st = await Deno.stat(bin);
    assert.equal(st.mode! & 0o777, 0o755);
    assert.ok((await Deno.readTextFile(bin)).startsWith(`#!/bin/sh\n# fake cmesh ${GOOD} for`));

    if (claude) {
      const list = await mustSucceed(claude, ["mcp", "list"], cleanEnv(w.home));
      assert.match(list, new RegExp(`^cmesh: ${bin} mcp`, "m"), list);
      assert.match(list, /^mine: /m);
    }
    if (codex) {
      const list = await codexMcpList(codex, cleanEnv(w.home));
      assert.deepEqual(list.map((s) => s.name).sort(), ["cmesh", "mine"]);
      assert.equal(list.find((s) => s.name === "cmesh")!.transport.command, bin);
    }

    // The installed binary uninstalls its registrations; the user's own entries stay.
    const un = await new Deno.Command(bin, {
      args: ["uninstall"],
      env: cleanEnv(w.home),
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(un.success, new TextDecoder().decode(un.stderr));
    if (claude) {
      const list = await mustSucceed(claude, ["mcp", "list"], cleanEnv(w.home));
      assert.doesNotMatch(list, /^cmesh:/m);
      assert.match(list, /^mine: /m);
    }
    if (codex) {
      const list = await codexMcpList(codex, cleanEnv(w.home));
      assert.deepEqual(list.map((s) => s.name), ["mine"]);
    }
  },
);

installerTest(
  "install.sh twice: the second run keeps the binary and registrations, makes no backups",
  async (w) => {
    await Deno.mkdir(join(w.home, ".gemini"));
    const first = await w.run();
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Gemini CLI +added/);
    const bin = join(w.home, ".local", "bin", "cmesh");
    const before = await Deno.stat(bin);
    const geminiFiles = await listDir(join(w.home, ".gemini"));
    const second = await w.run();
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /is already this build/);
    assert.match(second.stdout, /Gemini CLI +unchanged/);
    assert.doesNotMatch(second.stdout, /added|updated/);
    assert.equal((await Deno.stat(bin)).mtime?.getTime(), before.mtime?.getTime());
    assert.deepEqual(await listDir(join(w.home, ".gemini")), geminiFiles, "no new backup");
    assert.deepEqual(
      await listDir(join(w.home, ".local", "bin")),
      ["cmesh"],
      "no temp files left",
    );
  },
);

installerTest(
  "install.sh refuses a checksum mismatch and a missing checksum entry; nothing is installed",
  async (w) => {
    const bad = await w.run({ CMESH_VERSION: "0.0.9" });
    assert.notEqual(bad.code, 0);
    assert.match(
      bad.stderr,
      /checksum mismatch for cmesh-.*\.tar\.gz: expected 0{64}, got [0-9a-f]{64}\. Refusing to install/,
    );
    const none = await w.run({ CMESH_VERSION: "v0.0.8" });
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /SHA256SUMS has no entry for cmesh-.*: refusing to install/);
    const missing = await w.run({ CMESH_VERSION: "9.9.9" });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /download failed: .*\/download\/v9\.9\.9\//);
    assert.deepEqual(await listDir(w.home), [], "nothing written to HOME");
  },
);

installerTest(
  "install.sh refuses an unknown architecture or OS before downloading anything",
  async (w) => {
    const arch = await w.run({ PATH: await fakeUname(w.dir, "Linux", "mips64") });
    assert.notEqual(arch.code, 0);
    assert.match(arch.stderr, /unsupported architecture: mips64/);
    const os = await w.run({ PATH: await fakeUname(w.dir, "FreeBSD", "amd64") });
    assert.notEqual(os.code, 0);
    assert.match(os.stderr, /unsupported operating system: FreeBSD/);
    assert.deepEqual(w.server.requests, []);
    assert.deepEqual(await listDir(w.home), []);
  },
);

installerTest(
  "install.sh picks the archive for the machine (macOS arm64 via uname) and the latest release by default",
  async (w) => {
    const r = await w.run({
      PATH: await fakeUname(w.dir, "Darwin", "arm64"),
      CMESH_VERSION: "",
      CMESH_NO_MCP: "1",
      CMESH_INSTALL_DIR: join(w.home, "bin"),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(w.server.requests, [
      "/releases/latest/download/cmesh-aarch64-apple-darwin.tar.gz",
      "/releases/latest/download/SHA256SUMS",
    ]);
    assert.equal(
      await Deno.readTextFile(join(w.home, "bin", "cmesh")),
      fakeBinary("aarch64-apple-darwin", GOOD),
    );
    assert.match(r.stdout, /skipping MCP registration/);
  },
);

/** Installs the good release first, then returns the installed binary's bytes and mtime. */
async function installGood(w: World): Promise<{ bin: string; bytes: Uint8Array; mtime: number }> {
  const first = await w.run({ CMESH_NO_MCP: "1" });
  assert.equal(first.code, 0, first.stderr);
  const bin = join(w.home, ".local", "bin", "cmesh");
  return {
    bin,
    bytes: await Deno.readFile(bin),
    mtime: (await Deno.stat(bin)).mtime!.getTime(),
  };
}

/** The previously installed cmesh is untouched and no staged copy is left behind. */
async function assertUntouched(
  w: World,
  before: { bin: string; bytes: Uint8Array; mtime: number },
) {
  assert.deepEqual(await Deno.readFile(before.bin), before.bytes, "the old cmesh was replaced");
  assert.equal((await Deno.stat(before.bin)).mtime!.getTime(), before.mtime);
  assert.deepEqual(await listDir(join(w.home, ".local", "bin")), ["cmesh"], "no temp files left");
}

installerTest(
  "install.sh refuses an archive holding another program (answers --version like deno); the old cmesh stays",
  async (w) => {
    const before = await installGood(w);
    const r = await w.run({ CMESH_VERSION: "0.0.6", CMESH_NO_MCP: "1" });
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stdout, /checksum verified/, "the checksum was right: only the run refused it");
    assert.match(
      r.stderr,
      /the program in cmesh-.*\.tar\.gz is not cmesh: 'cmesh version --json' failed \(error: unrecognized subcommand 'version'/,
    );
    assert.ok(r.stderr.includes(`Refusing to install: ${before.bin} was left as it was`), r.stderr);
    assert.doesNotMatch(r.stdout, /installed /);
    await assertUntouched(w, before);
  },
);

installerTest(
  "install.sh refuses a release whose cmesh reports another version; the old cmesh stays",
  async (w) => {
    const before = await installGood(w);
    const r = await w.run({ CMESH_VERSION: "0.0.7", CMESH_NO_MCP: "1" });
    assert.notEqual(r.code, 0, r.stdout);
    assert.ok(
      r.stderr.includes(`the release v0.0.7 holds cmesh ${GOOD}, not 0.0.7`),
      r.stderr,
    );
    assert.ok(r.stderr.includes(`${before.bin} was left as it was`), r.stderr);
    await assertUntouched(w, before);
  },
);

installerTest(
  "install.sh on a fresh machine: a refused archive installs nothing",
  async (w) => {
    const r = await w.run({ CMESH_VERSION: "0.0.6", CMESH_NO_MCP: "1" });
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /is not cmesh: .*Refusing to install: nothing was installed/);
    assert.deepEqual(await listDir(join(w.home, ".local", "bin")), []);
  },
);
