/**
 * @module
 * The MCP Inspector CLI (`@modelcontextprotocol/inspector --cli`, a client that is not ours and
 * not an agent) against `cmesh mcp` started from source, exactly as a user would run it:
 *
 * ```sh
 * npx -y @modelcontextprotocol/inspector@2.12.0 --cli -e CMESH_HOME=… --method tools/list -- \
 *   deno run --no-prompt <permission flags> <repo>/src/main.ts mcp
 * ```
 *
 * It lists the tools (with `--strict`: no error-severity schema portability problem), calls
 * `cmesh_peers` against a running daemon (the local-demo world of `tests/mcp/_harness.ts`), and
 * sees an invalid argument come back as a tool error, not a protocol error. The version is the one
 * `.ci/run` pins and pre-fetches into npm's npx cache (`MCP_INSPECTOR_VERSION=`); the test skips,
 * saying why, only when npx cannot fetch it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../support/daemon.ts";
import { denoRunArgs } from "../../src/util/deno_permissions.ts";
import { startWorld } from "../mcp/_harness.ts";
import { DELEGATION_TOOLS } from "./_checks.ts";
import { DENO_DIR } from "./_world.ts";

/** The pinned version, from its one place in `.ci/run`. */
const VERSION = /^MCP_INSPECTOR_VERSION=(\S+)$/m.exec(
  await Deno.readTextFile(join(REPO_ROOT, ".ci", "run")),
)?.[1];
if (!VERSION) throw new Error(".ci/run must pin MCP_INSPECTOR_VERSION=<version>");
const PACKAGE = `@modelcontextprotocol/inspector@${VERSION}`;

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `npx --prefer-offline -y <inspector> …` with a hard timeout (from /, outside the repo). */
async function npx(args: string[], timeoutMs: number): Promise<Output> {
  const child = new Deno.Command("npx", {
    args: ["--prefer-offline", "-y", "--loglevel=error", PACKAGE, ...args],
    cwd: "/",
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: dec(out.stdout), stderr: dec(out.stderr) };
}

/** Why the Inspector cannot run here (npx missing, or the package cannot be fetched), or null. */
async function skipReason(): Promise<string | null> {
  let probe: Output;
  try {
    probe = await npx(["--cli", "--version"], 240_000);
  } catch (e) {
    return `npx is not available (${(e as Error).message}); install Node.js/npm`;
  }
  if (probe.code === 0 && probe.stdout.trim() === VERSION) return null;
  return `npx could not fetch or run ${PACKAGE} (exit ${probe.code}): ${
    probe.stderr.trim().split("\n").slice(-3).join(" | ")
  }`;
}

const SKIP = await skipReason();
if (SKIP) console.warn(`tests/mcp_clients/inspector_test.ts SKIPPED: ${SKIP}`);

/** The `cmesh mcp` command line from source, after the Inspector's own options and `--`. */
function inspect(home: string, method: string[]): Promise<Output> {
  const env = ["-e", `CMESH_HOME=${home}`, "-e", `DENO_DIR=${DENO_DIR}`];
  const server = [Deno.execPath(), ...denoRunArgs(join(REPO_ROOT, "src", "main.ts"), ["mcp"])];
  return npx(["--cli", ...env, ...method, "--", ...server], 90_000);
}

interface ListedTool {
  name: string;
  inputSchema: { required?: string[] };
  outputSchema?: { type: string };
  annotations?: Record<string, unknown>;
}

Deno.test({
  name: `MCP Inspector CLI ${VERSION ?? ""}: tools/list and tools/call cmesh_peers`,
  ignore: SKIP !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const w = await startWorld();
    try {
      await t.step("tools/list (--strict): every tool, its hints and schemas", async () => {
        const out = await inspect(w.home, ["--strict", "--method", "tools/list"]);
        assert.equal(out.code, 0, `exit ${out.code} (6: a portability error)\n${out.stderr}`);
        const tools = (JSON.parse(out.stdout) as { tools: ListedTool[] }).tools;
        const names = tools.map((x) => x.name);
        for (const name of DELEGATION_TOOLS) assert.ok(names.includes(name), `${name} in ${names}`);
        for (const tool of tools.filter((x) => x.name.startsWith("cmesh_"))) {
          for (
            const hint of ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"]
          ) {
            assert.equal(typeof tool.annotations?.[hint], "boolean", `${tool.name}.${hint}`);
          }
          assert.equal(tool.outputSchema?.type, "object", `${tool.name} has an output schema`);
        }
        const delegate = tools.find((x) => x.name === "cmesh_delegate")!;
        assert.deepEqual([...(delegate.inputSchema.required ?? [])].sort(), [
          "cwd",
          "peer",
          "task",
        ]);
        assert.equal(delegate.annotations?.destructiveHint, true);
      });

      await t.step("tools/call cmesh_peers against the running daemon", async () => {
        const out = await inspect(w.home, ["--method", "tools/call", "--tool-name", "cmesh_peers"]);
        assert.equal(out.code, 0, `exit ${out.code}\n${out.stdout}\n${out.stderr}`);
        const res = JSON.parse(out.stdout) as {
          isError?: boolean;
          content: { type: string; text: string }[];
          structuredContent: {
            peers: {
              name: string;
              online: boolean;
              cmesh: boolean;
              peer_allows_me: { rules: { runners: string[] }[] } | null;
            }[];
          };
        };
        assert.notEqual(res.isError, true, out.stdout);
        assert.ok(
          res.content[0].text.includes(
            `server (127.0.0.1:${w.workerPort}): online, cmesh answering`,
          ),
          res.content[0].text,
        );
        const server = res.structuredContent.peers.find((p) => p.name === "server");
        assert.ok(server, out.stdout);
        assert.equal(server.online, true);
        assert.equal(server.cmesh, true);
        assert.deepEqual(server.peer_allows_me?.rules.map((r) => r.runners), [["demo"]]);
        const ghost = res.structuredContent.peers.find((p) => p.name === "ghost");
        assert.equal(ghost?.cmesh, false, "nothing listens on ghost's port");
      });

      await t.step(
        "an invalid argument is a tool error (isError), not a protocol error",
        async () => {
          const out = await inspect(w.home, [
            "--method",
            "tools/call",
            "--tool-name",
            "cmesh_status",
            "--tool-arg",
            "task_id=x",
          ]);
          // The Inspector exits 5 when a tool returns isError: true.
          assert.equal(out.code, 5, `exit ${out.code}\n${out.stdout}\n${out.stderr}`);
          const res = JSON.parse(out.stdout) as { isError: boolean; content: { text: string }[] };
          assert.equal(res.isError, true);
          assert.match(res.content[0].text, /Input validation error: .*cmesh_status/);
        },
      );
    } finally {
      await w.stop();
    }
  },
});
