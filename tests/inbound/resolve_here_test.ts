/**
 * @module
 * `resolvingHereFirst` answers by itself only with what `resolveCwd` would say with full read
 * access (the real path of a directory it may stat); everything else goes to the fallback.
 */
import assert from "node:assert/strict";
import { type ResolvedCwd, resolvingHereFirst } from "../../src/inbound/cwd_resolve.ts";

function counting() {
  const asked: string[] = [];
  const fallback = (path: string): Promise<ResolvedCwd> => {
    asked.push(path);
    return Promise.resolve({ ok: false, reason: "asked the fallback" });
  };
  return { asked, resolve: resolvingHereFirst(fallback) };
}

Deno.test("resolvingHereFirst: a readable directory (through a symlink too) is answered here", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.mkdir(`${base}/app`);
    await Deno.symlink(`${base}/app`, `${base}/link`);
    const { asked, resolve } = counting();
    assert.deepEqual(await resolve(`${base}/app`), { ok: true, real: `${base}/app` });
    assert.deepEqual(await resolve(`${base}/link/../app/.`), { ok: true, real: `${base}/app` });
    assert.deepEqual(asked, []);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("resolvingHereFirst: missing, a file, relative, NUL or a loop are asked of the fallback", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.writeTextFile(`${base}/file`, "x");
    await Deno.symlink(`${base}/loop`, `${base}/loop`);
    const { asked, resolve } = counting();
    const paths = [
      `${base}/missing`,
      `${base}/file`,
      "relative/dir",
      `${base}/a\0b`,
      `${base}/loop`,
    ];
    for (const p of paths) {
      assert.deepEqual(await resolve(p), { ok: false, reason: "asked the fallback" });
    }
    assert.deepEqual(asked, paths);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
