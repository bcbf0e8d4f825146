/**
 * Release packaging with a fake binary: names per target (what install.sh/install.ps1
 * compute), archive contents and modes (`tar -tvzf`, `unzip -Z`), and SHA256SUMS in the
 * format `sha256sum -c` accepts — which also fails on a tampered archive.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  archiveName,
  binaryName,
  checksumsText,
  RELEASE_TARGETS,
  sha256File,
  writeArchive,
  writeChecksums,
} from "../../scripts/release_archive.ts";
import { tempDir } from "../support/daemon.ts";
import { which } from "../setup/_helpers.ts";

async function sh(cmd: string, args: string[], cwd?: string) {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { ok: out.success, out: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test("archive names and binary names per target", () => {
  assert.deepEqual(RELEASE_TARGETS.map(archiveName), [
    "cmesh-x86_64-unknown-linux-gnu.tar.gz",
    "cmesh-aarch64-unknown-linux-gnu.tar.gz",
    "cmesh-x86_64-apple-darwin.tar.gz",
    "cmesh-aarch64-apple-darwin.tar.gz",
    "cmesh-x86_64-pc-windows-msvc.zip",
  ]);
  assert.equal(binaryName("x86_64-pc-windows-msvc"), "cmesh.exe");
  assert.equal(binaryName("aarch64-apple-darwin"), "cmesh");
});

Deno.test("tar.gz: cmesh (0755) and the extras at the top level; SHA256SUMS verifies with sha256sum -c", async () => {
  const dir = await tempDir("cmesh-rel-");
  try {
    const bin = join(dir.path, "build-output");
    await Deno.writeTextFile(bin, "#!/bin/sh\necho fake\n", { mode: 0o600 });
    const license = join(dir.path, "LICENSE");
    await Deno.writeTextFile(license, "license text\n");
    const out = join(dir.path, "release");
    const a = await writeArchive({
      binary: bin,
      target: "x86_64-unknown-linux-gnu",
      outDir: out,
      extras: [license],
    });
    const b = await writeArchive({
      binary: bin,
      target: "aarch64-apple-darwin",
      outDir: out,
      extras: [],
    });
    assert.equal(a, join(await Deno.realPath(out), "cmesh-x86_64-unknown-linux-gnu.tar.gz"));
    const listing = await sh("tar", ["-tvzf", a]);
    assert.ok(listing.ok, listing.out);
    const lines = listing.out.trim().split("\n");
    assert.equal(lines.length, 2);
    assert.match(lines.find((l) => / cmesh$/.test(l))!, /^-rwxr-xr-x /);
    assert.ok(lines.some((l) => / LICENSE$/.test(l)));

    const sums = await writeChecksums(out, [b, a]);
    const text = await Deno.readTextFile(sums);
    assert.equal(text, await checksumsText([a, b]));
    assert.match(
      text,
      /^[0-9a-f]{64} {2}cmesh-aarch64-apple-darwin\.tar\.gz\n[0-9a-f]{64} {2}cmesh-x86_64-unknown-linux-gnu\.tar\.gz\n$/,
    );
    assert.equal(text.split("\n")[1].slice(0, 64), await sha256File(a));
    if (which("sha256sum")) {
      const ok = await sh("sha256sum", ["-c", "SHA256SUMS"], out);
      assert.ok(ok.ok, ok.out);
      await Deno.writeTextFile(a, "tampered", { append: true });
      const bad = await sh("sha256sum", ["-c", "SHA256SUMS"], out);
      assert.ok(!bad.ok, "a tampered archive must fail the check");
    }
  } finally {
    await dir.cleanup();
  }
});

Deno.test({
  name: "zip for Windows: cmesh.exe at the top level",
  ignore: !which("zip") || !which("unzip"),
  async fn() {
    const dir = await tempDir("cmesh-rel-");
    try {
      const bin = join(dir.path, "cmesh-built.exe");
      await Deno.writeTextFile(bin, "MZ fake");
      const z = await writeArchive({
        binary: bin,
        target: "x86_64-pc-windows-msvc",
        outDir: dir.path,
        extras: [],
      });
      assert.match(z, /cmesh-x86_64-pc-windows-msvc\.zip$/);
      const listing = await sh("unzip", ["-Z1", z]);
      assert.ok(listing.ok, listing.out);
      assert.deepEqual(listing.out.trim().split("\n"), ["cmesh.exe"]);
    } finally {
      await dir.cleanup();
    }
  },
});
