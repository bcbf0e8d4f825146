/**
 * The release build's inputs and guards: the `deno compile` command line (the one set of
 * permission flags, no prompts, the worker thread included); the refusal of a `DENORT_BIN` that
 * is the full Deno CLI (by `scripts/compile.ts` itself, run here); the check of a built binary
 * (`version --json` must say cmesh and this version); and — where `deno compile` can run
 * offline with `DENORT_BIN` pointing at this deno — the permissions metadata it embeds: no
 * build-machine path, `prompt: false`, the worker-options feature on.
 *
 * No test here builds a working cmesh binary: offline, the only runtime at hand is the full
 * Deno CLI, and what `deno compile` makes with it is the Deno CLI (this file runs it and shows
 * so). The real compile and its smoke run happen in the release workflow
 * (.github/workflows/release.yml, docs/release.md).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { builtBinaryProblem, compileArgs, denortProblem } from "../../scripts/compile.ts";
import { VERSION } from "../../src/version.ts";
import { fakeBinary } from "./_release.ts";
import { PERMISSION_FLAGS, RUNTIME_FLAGS } from "../../src/util/deno_permissions.ts";
import { REPO_ROOT, tempDir } from "../support/daemon.ts";

Deno.test("compileArgs: the permission flags, --no-prompt, --include the worker thread, per-target output", () => {
  assert.deepEqual(compileArgs("x86_64-pc-windows-msvc", "/out"), [
    "compile",
    "--no-prompt",
    ...PERMISSION_FLAGS,
    ...RUNTIME_FLAGS,
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

Deno.test("denortProblem: the full Deno CLI is refused (by --version, or by running eval); a denort is not", async () => {
  const dir = await tempDir("cmesh-denort-");
  try {
    const full = await denortProblem(Deno.execPath());
    assert.ok(
      full?.includes(`is the full Deno CLI (\`--version\` printed "deno ${Deno.version.deno}")`),
      full!,
    );
    assert.match(full!, /Point DENORT_BIN at a denort binary/);
    // A denort without an embedded program ignores its arguments and prints nothing.
    const denort = join(dir.path, "denort");
    await Deno.writeTextFile(denort, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    assert.equal(await denortProblem(denort), null);
    // A Deno CLI whose --version line looks different still runs subcommands.
    const quiet = join(dir.path, "quiet-deno");
    await Deno.writeTextFile(
      quiet,
      `#!/bin/sh\n[ "$1" = eval ] && exec ${Deno.execPath()} "$@"\nexit 0\n`,
      { mode: 0o755 },
    );
    assert.match((await denortProblem(quiet))!, /is the full Deno CLI \(it ran `eval`\)/);
    assert.match((await denortProblem(join(dir.path, "missing")))!, /cannot be run/);
  } finally {
    await dir.cleanup();
  }
});

Deno.test("deno task compile with DENORT_BIN = a full deno refuses before building anything", async () => {
  const dir = await tempDir("cmesh-compile-refuse-");
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "scripts/compile.ts", "--target", Deno.build.target, "--out", dir.path],
      cwd: REPO_ROOT,
      env: { DENORT_BIN: Deno.execPath() },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const log = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, log);
    assert.match(log, /refusing to build: DENORT_BIN=.* is the full Deno CLI/);
    assert.deepEqual([...Deno.readDirSync(dir.path)], [], "nothing built or packed");
  } finally {
    await dir.cleanup();
  }
});

Deno.test("builtBinaryProblem: runs the binary; cmesh of this version passes, others are named", async () => {
  const dir = await tempDir("cmesh-built-");
  try {
    // The installer tests' fake: a script that hands `version --json` to the real cmesh.
    const cmesh = join(dir.path, "cmesh");
    await Deno.writeTextFile(cmesh, fakeBinary(Deno.build.target, VERSION), { mode: 0o755 });
    assert.equal(await builtBinaryProblem(cmesh), null);
    assert.equal(
      await builtBinaryProblem(cmesh, "9.9.9"),
      `${cmesh} is cmesh ${VERSION}, not 9.9.9`,
    );
    assert.match(
      (await builtBinaryProblem(Deno.execPath()))!,
      /is not cmesh: `version --json` failed \(.*unrecognized subcommand/,
    );
  } finally {
    await dir.cleanup();
  }
});

Deno.test("deno compile offline (DENORT_BIN = this deno): the embedded permissions have no build-machine paths; the output is the Deno CLI, not cmesh", async () => {
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
    // What this runtime makes is the Deno CLI with cmesh inside, not cmesh: the reason
    // compile.ts refuses such a DENORT_BIN and checks the binary it built.
    assert.match((await builtBinaryProblem(binary))!, /is not cmesh/);
  } finally {
    await dir.cleanup();
  }
});
