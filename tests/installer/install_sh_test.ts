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
import {
  buildRelease,
  fakeBinary,
  hostArchive,
  type ReleaseServer,
  serveReleases,
} from "./_release.ts";

const INSTALLER = join(REPO_ROOT, "scripts", "install.sh");
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

/** A release dir with v0.1.0 (good, also "latest"), v0.0.9 (wrong checksum), v0.0.8 (no entry). */
async function world(): Promise<World> {
  const tmp = await tempDir("cmesh-installer-");
  const releases = join(tmp.path, "releases");
  await buildRelease(releases, "0.1.0");
  const bad = await buildRelease(releases, "0.0.9");
  const sums = await Deno.readTextFile(join(bad, "SHA256SUMS"));
  await Deno.writeTextFile(
    join(bad, "SHA256SUMS"),
    sums.replace(/^[0-9a-f]{64}/gm, "0".repeat(64)),
  );
  const none = await buildRelease(releases, "0.0.8");
  await Deno.writeTextFile(join(none, "SHA256SUMS"), "");
  const server = serveReleases(releases, "v0.1.0");
  const home = join(tmp.path, "home");
  await Deno.mkdir(home);
  return {
    dir: tmp.path,
    home,
    server,
    async run(extra = {}) {
      const env = cleanEnv(home, {
        CMESH_RELEASE_BASE_URL: server.base,
        CMESH_VERSION: "0.1.0",
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
      w.server.requests.includes(`/releases/download/v0.1.0/${hostArchive()}`),
      w.server.requests.join("\n"),
    );
    assert.ok(w.server.requests.includes("/releases/download/v0.1.0/SHA256SUMS"));
    assert.match(r.stdout, /checksum verified \([0-9a-f]{64}\)/);
    assert.match(r.stdout, new RegExp(`installed ${bin}`));
    assert.match(r.stdout, /cmesh 0\.1\.0 \(fake /);
    assert.match(r.stdout, /is not on your PATH\. Add it with:/);
    assert.match(r.stdout, /export PATH=.*\.local\/bin:\$PATH.*\.profile/);
    assert.match(r.stdout, /help me set up cmesh/);
    const st = await Deno.stat(bin);
    assert.equal(st.mode! & 0o777, 0o755);
    assert.match(await Deno.readTextFile(bin), /^#!\/bin\/sh\n# fake cmesh 0\.1\.0 for/);

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
      fakeBinary("aarch64-apple-darwin", "0.1.0"),
    );
    assert.match(r.stdout, /skipping MCP registration/);
  },
);
