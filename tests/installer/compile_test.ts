/**
 * The release build's inputs: the `deno compile` command line (single permission set, no
 * prompts, the worker thread included), the refusal of permission sets whose relative paths
 * would be baked in as build-machine paths, and — where `deno compile` can run offline with
 * `DENORT_BIN` pointing at this deno — the permissions actually embedded in a binary: no
 * build-machine path, `prompt: false`, the worker-options feature on.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { compileArgs } from "../../scripts/compile.ts";
import { PERMISSION_FLAGS } from "../../src/util/deno_permissions.ts";
import { REPO_ROOT, tempDir } from "../support/daemon.ts";

Deno.test("compileArgs: the permission flags, --no-prompt, --include the worker thread, per-target output", () => {
  assert.deepEqual(compileArgs("x86_64-pc-windows-msvc", "/out"), [
    "compile",
    "--no-prompt",
    ...PERMISSION_FLAGS,
    "--include",
    "src/worker/thread.ts",
    "--target",
    "x86_64-pc-windows-msvc",
    "--output",
    "/out/build/x86_64-pc-windows-msvc/cmesh.exe",
    "src/main.ts",
  ]);
});

/** The JSON object that starts at `start` in `text` (brace matching, strings respected). */
function objectAt(text: string, start: number): string {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) return text.slice(start, i + 1);
  }
  throw new Error("unterminated object");
}

Deno.test("a compiled binary (DENORT_BIN = this deno, offline) embeds the set without build-machine paths", async () => {
  const dir = await tempDir("cmesh-compile-");
  try {
    const args = compileArgs(Deno.build.target, dir.path);
    const out = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: REPO_ROOT,
      env: { DENORT_BIN: Deno.execPath() },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const log = new TextDecoder().decode(out.stderr);
    if (!out.success) {
      console.warn(
        `SKIP embedded-permissions check: deno compile could not run offline here:\n${log}`,
      );
      return;
    }
    const binary = join(dir.path, "build", Deno.build.target, "cmesh");
    const text = new TextDecoder("latin1").decode(await Deno.readFile(binary));
    const at = text.indexOf('"permissions":{"allow_env"');
    assert.ok(at > 0, "permissions metadata found");
    const perms = JSON.parse(objectAt(text, at + '"permissions":'.length));
    for (const key of ["allow_read", "allow_write", "allow_run", "allow_net", "allow_env"]) {
      const v = perms[key] as string[] | null;
      assert.ok(Array.isArray(v), `${key} granted`);
      for (const entry of v!) {
        assert.ok(!entry.includes(REPO_ROOT.replace(/\/$/, "")), `${key} embeds ${entry}`);
      }
    }
    assert.equal(perms.prompt, false);
    assert.equal(perms.allow_ffi, null, "ffi is not granted");
    assert.match(text, /"features":\["worker-options"/);
  } finally {
    await dir.cleanup();
  }
});
