/**
 * Windows launches without cmd.exe: npm `.cmd` shims (real cmd-shim text, as npm 11 writes it
 * for the Claude Code and Codex packages) are seen through to `node <script>`; any other batch
 * file is refused; the invocation never starts a batch file. Runs on every OS (pure).
 */
import assert from "node:assert/strict";
import { isBatchFile, npmShimTarget, windowsLaunch } from "../../src/runner/windows_launch.ts";
import { buildInvocation } from "../../src/runner/invocation.ts";
import { claudeManifest } from "../../src/runner/builtin/claude.ts";
import { RunnerSetupError } from "../../src/runner/manifest.ts";

const SHIM_DIR = "C:\\Users\\ann\\AppData\\Roaming\\npm";
const shim = (script: string) =>
  [
    "@ECHO off",
    "GOTO start",
    ":find_dp0",
    "SET dp0=%~dp0",
    "EXIT /b",
    ":start",
    "SETLOCAL",
    "CALL :find_dp0",
    "",
    'IF EXIST "%dp0%\\node.exe" (',
    '  SET "_prog=%dp0%\\node.exe"',
    ") ELSE (",
    '  SET "_prog=node"',
    "  SET PATHEXT=%PATHEXT:;.JS;=;%",
    ")",
    "",
    `endLocal & goto #_undefined_# 2>NUL || title %COMSPEC% & "%_prog%"  "%dp0%\\${script}" %*`,
    "",
  ].join("\r\n");

Deno.test("npm shims resolve to the script next to them", () => {
  assert.equal(
    npmShimTarget(
      shim("node_modules\\@anthropic-ai\\claude-code\\cli.js"),
      `${SHIM_DIR}\\claude.cmd`,
    ),
    `${SHIM_DIR}\\node_modules\\@anthropic-ai\\claude-code\\cli.js`,
  );
  assert.equal(
    npmShimTarget(shim("node_modules\\@openai\\codex\\bin\\codex.js"), `${SHIM_DIR}\\codex.cmd`),
    `${SHIM_DIR}\\node_modules\\@openai\\codex\\bin\\codex.js`,
  );
  // Not a shim, or a shim that climbs out of its directory: not trusted.
  assert.equal(npmShimTarget("@echo off\r\ncalc.exe %*\r\n", `${SHIM_DIR}\\x.cmd`), null);
  assert.equal(npmShimTarget(shim("..\\..\\evil\\x.js"), `${SHIM_DIR}\\x.cmd`), null);
  assert.ok(isBatchFile("C:\\x\\CLAUDE.CMD") && isBatchFile("y.bat") && !isBatchFile("z.exe"));
});

Deno.test("windowsLaunch: node + script for a shim, refusal for other batch files", async () => {
  const files: Record<string, string> = {
    [`${SHIM_DIR}\\claude.cmd`]: shim("node_modules\\@anthropic-ai\\claude-code\\cli.js"),
    [`${SHIM_DIR}\\tool.bat`]: "@echo off\r\npython tool.py %*\r\n",
  };
  const deps = (node: string | null) => ({
    readTextFile: (p: string) =>
      p in files ? Promise.resolve(files[p]) : Promise.reject(new Error("not found")),
    findNode: () => Promise.resolve(node),
  });
  const node = "C:\\Program Files\\nodejs\\node.exe";
  assert.deepEqual(await windowsLaunch("claude", `${SHIM_DIR}\\claude.cmd`, deps(node)), {
    binary: node,
    prefixArgs: [`${SHIM_DIR}\\node_modules\\@anthropic-ai\\claude-code\\cli.js`],
  });
  assert.deepEqual(await windowsLaunch("codex", "C:\\bin\\codex.exe", deps(node)), {
    binary: "C:\\bin\\codex.exe",
    prefixArgs: [],
  });
  for (
    const [bin, nodePath, why] of [
      [`${SHIM_DIR}\\tool.bat`, node, /not an npm shim/],
      [`${SHIM_DIR}\\missing.cmd`, node, /cannot be read/],
      [`${SHIM_DIR}\\claude.cmd`, null, /node.exe was not found/],
    ] as const
  ) {
    const err = await windowsLaunch("x", bin, deps(nodePath)).catch((e) => e);
    assert.ok(err instanceof RunnerSetupError, String(err));
    assert.equal(err.code, "runner_batch_file");
    assert.match(err.message, why);
    assert.match(err.message, /never starts runners through cmd.exe/);
  }
});

Deno.test("the invocation puts the shim's script first and never starts a batch file", () => {
  const inv = buildInvocation({
    manifest: claudeManifest,
    profile: "query",
    prompt: 'say "100%" & del C:\\ ^ | calc',
    cwd: "C:\\src\\app",
    resolvedBinary: "C:\\Program Files\\nodejs\\node.exe",
    prefixArgs: [`${SHIM_DIR}\\node_modules\\@anthropic-ai\\claude-code\\cli.js`],
    env: { SystemRoot: "C:\\Windows" },
    os: "windows",
  });
  assert.equal(inv.argv[0], "C:\\Program Files\\nodejs\\node.exe");
  assert.equal(inv.argv[1], `${SHIM_DIR}\\node_modules\\@anthropic-ai\\claude-code\\cli.js`);
  assert.equal(inv.argv.at(-1), 'say "100%" & del C:\\ ^ | calc');
  assert.throws(
    () =>
      buildInvocation({
        manifest: claudeManifest,
        profile: "query",
        prompt: "hi there",
        cwd: "C:\\src\\app",
        resolvedBinary: `${SHIM_DIR}\\claude.cmd`,
        env: {},
        os: "windows",
      }),
    /is a batch file/,
  );
});
