/**
 * @module
 * `protocol/paths.ts` without `node:path` (the worker thread's idle code uses it): its
 * `parentDir` must say what `dirname` says, POSIX and Windows (leaving out `//x`, which POSIX
 * `dirname` answers with `//`).
 */
import assert from "node:assert/strict";
import { posix, win32 } from "node:path";
import { isAbsolutePath, parentDir } from "../../src/protocol/paths.ts";

const POSIX_CASES = [
  "/var/lib/cmesh/cmesh.db",
  "/cmesh.db",
  "/",
  "/a//b",
  "/a/b/",
  "/a/b//",
  "cmesh.db",
  "state/cmesh.db",
  "./cmesh.db",
  "../x/cmesh.db",
  "",
  "/dir with space/a\\b.db",
];
const WINDOWS_CASES = [
  "C:\\ProgramData\\cmesh\\cmesh.db",
  "C:\\cmesh.db",
  "C:/Users/ann/cmesh/cmesh.db",
  "C:\\",
  "C:",
  "C:cmesh.db",
  "C:\\a\\\\b",
  "C:\\a\\b\\",
  "cmesh.db",
  "state\\cmesh.db",
  "\\cmesh.db",
  "d:\\x/y\\z.db",
];

Deno.test("parentDir agrees with node:path's posix dirname", () => {
  for (const p of POSIX_CASES) assert.equal(parentDir(p, "linux"), posix.dirname(p), p);
});

Deno.test("parentDir agrees with node:path's win32 dirname", () => {
  for (const p of WINDOWS_CASES) assert.equal(parentDir(p, "windows"), win32.dirname(p), p);
});

Deno.test("isAbsolutePath: POSIX and drive-letter paths", () => {
  assert.ok(isAbsolutePath("/srv/app") && isAbsolutePath("C:\\work") && isAbsolutePath("d:/x"));
  assert.ok(!isAbsolutePath("srv/app") && !isAbsolutePath("C:work"));
});
