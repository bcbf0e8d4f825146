/**
 * The `/etc` mirror: files copied (mode 0644, through symlinks), directories and oversized or
 * special files left to binds over mount points, every change on the host carried over at the
 * next view, and no mirror (null) when it cannot be kept. A stand-in host `/etc` in a temp dir.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ETC_MIRROR_RACY_MS, EtcMirror } from "../../../src/runner/sandbox/etc_mirror.ts";
import { setLogSink } from "../../../src/util/log.ts";

async function world() {
  const base = await Deno.makeTempDir({ prefix: "cmesh-etc-mirror-" });
  const etc = join(base, "etc");
  await Deno.mkdir(join(etc, "ssl", "certs"), { recursive: true });
  await Deno.writeTextFile(join(etc, "passwd"), "root:x:0:0::/root:/bin/sh\n");
  await Deno.writeTextFile(join(etc, "hosts"), "127.0.0.1 localhost\n");
  await Deno.writeTextFile(join(base, "zone"), "UTC zone data");
  await Deno.symlink(join(base, "zone"), join(etc, "localtime"));
  const entries = ["passwd", "hosts", "localtime", "ssl", "missing"].map((n) => join(etc, n));
  const mirrorDir = join(base, "state", "sandbox-etc");
  await Deno.mkdir(join(base, "state"));
  return { base, etc, entries, mirrorDir };
}

/** Runs `fn` in a fresh stand-in world and removes it afterwards. */
async function inWorld(fn: (w: Awaited<ReturnType<typeof world>>) => Promise<void> | void) {
  const w = await world();
  try {
    await fn(w);
  } finally {
    await Deno.remove(w.base, { recursive: true });
  }
}

const read = (p: string) => Deno.readTextFileSync(p);
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("EtcMirror: files copied through links, directories bound over mount points", () =>
  inWorld((w) => {
    const view = new EtcMirror(w.mirrorDir, w.entries, { root: w.etc }).view();
    assert.deepEqual(view, { dir: w.mirrorDir, binds: [join(w.etc, "ssl")] });
    assert.deepEqual(names(w.mirrorDir), ["hosts", "localtime", "passwd", "ssl"]);
    assert.equal(read(join(w.mirrorDir, "passwd")), "root:x:0:0::/root:/bin/sh\n");
    assert.equal(read(join(w.mirrorDir, "localtime")), "UTC zone data", "the link's file");
    assert.ok(!Deno.lstatSync(join(w.mirrorDir, "localtime")).isSymlink);
    assert.equal(Deno.statSync(join(w.mirrorDir, "passwd")).mode! & 0o777, 0o644);
    assert.equal(Deno.statSync(w.mirrorDir).mode! & 0o777, 0o755);
    const ssl = join(w.mirrorDir, "ssl");
    assert.ok(Deno.statSync(ssl).isDirectory);
    assert.deepEqual(names(ssl), [], "an empty mount point, not a copy");
  }));

Deno.test("EtcMirror: a host change shows at the next view; what vanished goes", () =>
  inWorld(async (w) => {
    const mirror = new EtcMirror(w.mirrorDir, w.entries, { root: w.etc });
    mirror.view();
    // Rewritten in place (same inode, new size) and replaced by rename (new inode, same size).
    await Deno.writeTextFile(join(w.etc, "passwd"), "root:x:0:0::/root:/bin/bash\nu:x:1:1::/:/\n");
    await Deno.writeTextFile(join(w.etc, "hosts.new"), "10.0.0.1 localhost\n");
    await Deno.rename(join(w.etc, "hosts.new"), join(w.etc, "hosts"));
    await Deno.remove(join(w.etc, "localtime"));
    await Deno.writeTextFile(join(w.etc, "missing"), "now here\n");
    const view = mirror.view();
    assert.deepEqual(view?.binds, [join(w.etc, "ssl")]);
    assert.equal(read(join(w.mirrorDir, "passwd")), "root:x:0:0::/root:/bin/bash\nu:x:1:1::/:/\n");
    assert.equal(read(join(w.mirrorDir, "hosts")), "10.0.0.1 localhost\n");
    assert.equal(read(join(w.mirrorDir, "missing")), "now here\n");
    assert.deepEqual(names(w.mirrorDir), ["hosts", "missing", "passwd", "ssl"]);
    // A file that became a directory, and a directory that became a file.
    await Deno.remove(join(w.etc, "hosts"));
    await Deno.mkdir(join(w.etc, "hosts"));
    await Deno.remove(join(w.etc, "ssl"), { recursive: true });
    await Deno.writeTextFile(join(w.etc, "ssl"), "a file now\n");
    assert.deepEqual(mirror.view()?.binds, [join(w.etc, "hosts")]);
    assert.ok(Deno.statSync(join(w.mirrorDir, "hosts")).isDirectory);
    assert.equal(read(join(w.mirrorDir, "ssl")), "a file now\n");
  }));

Deno.test("EtcMirror: an unchanged host is not copied again", () =>
  inWorld((w) => {
    // The stand-in files were written just now: racyMs 0 trusts them at once (see the next test).
    const mirror = new EtcMirror(w.mirrorDir, w.entries, { root: w.etc, racyMs: 0 });
    mirror.view();
    // Written behind the mirror's back: kept while the host file stays the same.
    Deno.writeTextFileSync(join(w.mirrorDir, "passwd"), "marker\n");
    mirror.view();
    assert.equal(read(join(w.mirrorDir, "passwd")), "marker\n");
  }));

Deno.test("EtcMirror: a file changed within the last ETC_MIRROR_RACY_MS is copied again at each view", () =>
  inWorld((w) => {
    // A rewrite of the same size in the clock tick of the copy would leave its signature as it
    // was; until its change is that old, the file is copied at every view.
    const mirror = new EtcMirror(w.mirrorDir, w.entries, { root: w.etc });
    mirror.view();
    Deno.writeTextFileSync(join(w.mirrorDir, "passwd"), "marker\n");
    mirror.view();
    assert.equal(read(join(w.mirrorDir, "passwd")), "root:x:0:0::/root:/bin/sh\n");
    assert.ok(ETC_MIRROR_RACY_MS >= 1000);
  }));

Deno.test("EtcMirror: a file over the size cap is bound, over an empty placeholder", () =>
  inWorld((w) => {
    const view = new EtcMirror(w.mirrorDir, w.entries, { root: w.etc, maxFileBytes: 16 }).view();
    assert.deepEqual(view?.binds, [
      join(w.etc, "passwd"),
      join(w.etc, "hosts"),
      join(w.etc, "ssl"),
    ]);
    assert.equal(read(join(w.mirrorDir, "passwd")), "", "a mount point only");
    assert.equal(read(join(w.mirrorDir, "localtime")), "UTC zone data");
  }));

Deno.test("EtcMirror: starts empty, and is null (bind each entry) when it cannot be kept", () =>
  inWorld(async (w) => {
    await Deno.mkdir(w.mirrorDir);
    await Deno.writeTextFile(join(w.mirrorDir, "shadow"), "left by someone\n");
    const mirror = new EtcMirror(w.mirrorDir, w.entries, { root: w.etc });
    assert.ok(mirror.view() !== null);
    assert.deepEqual(names(w.mirrorDir), ["hosts", "localtime", "passwd", "ssl"]);
    // The state dir's place taken by a file: no mirror, and the next view tries again. The
    // operator is told once when it starts failing and once when it works again.
    const said: string[] = [];
    setLogSink((level, _c, message, props) =>
      said.push(`${level} ${message} ${props.reason ?? ""}`)
    );
    try {
      const blocked = new EtcMirror(join(w.base, "state", "passwd-file", "m"), w.entries, {
        root: w.etc,
      });
      await Deno.writeTextFile(join(w.base, "state", "passwd-file"), "");
      assert.equal(blocked.view(), null);
      assert.equal(blocked.view(), null);
      await Deno.remove(join(w.base, "state", "passwd-file"));
      await Deno.mkdir(join(w.base, "state", "passwd-file"));
      assert.ok(blocked.view() !== null);
      assert.ok(blocked.view() !== null);
      assert.equal(said.length, 2, said.join("\n"));
      assert.match(
        said[0],
        /^warning the \/etc mirror \{dir\} cannot be kept .* runs bind each entry \S/,
      );
      assert.match(said[1], /^info the \/etc mirror \{dir\} is kept again/);
    } finally {
      setLogSink(null);
    }
    assert.throws(() => new EtcMirror(w.mirrorDir, ["/etc/passwd", "/usr/x"]), /not below \/etc/);
    assert.throws(
      () => new EtcMirror(w.mirrorDir, ["/etc/ssl", "/etc/ssl/certs"]),
      /below another/,
    );
    assert.throws(() => new EtcMirror(w.mirrorDir, ["/etc/../root"]), /not below/);
  }));

Deno.test("EtcMirror: a nested entry shows without the rest of its directory (ssl/private)", () =>
  inWorld(async (w) => {
    await Deno.mkdir(join(w.etc, "ssl", "private"));
    await Deno.writeTextFile(join(w.etc, "ssl", "private", "server.key"), "SECRET");
    await Deno.writeTextFile(join(w.etc, "ssl", "openssl.cnf"), "[openssl]\n");
    const entries = ["ssl/certs", "ssl/openssl.cnf", "passwd"].map((n) => join(w.etc, n));
    const view = new EtcMirror(w.mirrorDir, entries, { root: w.etc }).view();
    assert.deepEqual(view?.binds, [join(w.etc, "ssl", "certs")]);
    assert.deepEqual(names(join(w.mirrorDir, "ssl")), ["certs", "openssl.cnf"]);
    assert.equal(read(join(w.mirrorDir, "ssl", "openssl.cnf")), "[openssl]\n");
    assert.equal(Deno.statSync(join(w.mirrorDir, "ssl")).mode! & 0o777, 0o755);
  }));
