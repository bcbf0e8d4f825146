/**
 * @module
 * The demo runner end to end, without the supervisor: build its invocation, spawn it the
 * way the supervisor would (scrubbed env, prompt on stdin), and read its output with the
 * Claude stream-json parser.
 */
import assert from "node:assert/strict";
import { buildInvocation } from "../../../src/runner/invocation.ts";
import { demoManifest } from "../../../src/runner/builtin/demo.ts";
import { createParser } from "../../../src/runner/parsers/mod.ts";
import type { RunnerEvent } from "../../../src/runner/types.ts";

async function runDemo(cwd: string, prompt: string, profile = "query") {
  const manifest = demoManifest();
  const inv = buildInvocation({
    manifest,
    profile,
    prompt,
    cwd,
    resolvedBinary: manifest.binary,
    env: Deno.env.toObject(),
  });
  const child = new Deno.Command(inv.argv[0], {
    args: inv.argv.slice(1),
    cwd: inv.cwd,
    env: inv.env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(inv.stdin ?? ""));
  await writer.close();
  const out = await child.output();
  const parser = createParser(manifest.output);
  const events: RunnerEvent[] = [];
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    events.push(...parser.feedLine(line));
  }
  const outcome = parser.finish({ code: out.code, signal: out.signal });
  return { events, outcome, stderr: new TextDecoder().decode(out.stderr) };
}

async function project(): Promise<{ dir: string; outside: string }> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "cmesh-demo-" }));
  const dir = `${root}/project`;
  const outside = `${root}/outside`;
  await Deno.mkdir(`${dir}/src`, { recursive: true });
  await Deno.mkdir(outside);
  await Deno.writeTextFile(`${dir}/README.md`, "# Demo\nTODO: write docs\n");
  await Deno.writeTextFile(`${dir}/src/main.ts`, "// TODO: main\nconsole.log(1);\nexport {};\n");
  // A deno.json that would break `deno run` if it were honoured (--no-config).
  await Deno.writeTextFile(`${dir}/deno.json`, '{"imports": 42}');
  await Deno.writeTextFile(`${outside}/secret.txt`, "TODO outside-secret\n");
  await Deno.symlink(`${outside}/secret.txt`, `${dir}/link.txt`);
  return { dir, outside: root };
}

Deno.test("demo agent: inspects the cwd read-only and answers like Claude", async () => {
  const { dir, outside } = await project();
  try {
    const { events, outcome, stderr } = await runDemo(dir, 'Where is "TODO" used?');
    assert.equal(outcome.success, true, `${JSON.stringify(outcome.error)}\n${stderr}`);
    assert.equal(outcome.error, null);
    const text = outcome.claims.final_text!;
    assert.match(text, /It holds 3 files \(3 text files, 6 lines of text\)/);
    assert.match(text, /"TODO" appears 2 times, first at README\.md:2/);
    assert.match(outcome.claims.session_id!, /^[0-9a-f-]{36}$/);
    assert.equal(outcome.usage.cost_usd, 0);
    assert.ok((outcome.usage.output_tokens ?? 0) > 0);
    assert.ok(!JSON.stringify(events).includes("outside-secret"), "followed a symlink out of cwd");
    assert.deepEqual(
      events.filter((e) => e.kind === "tool").map((e) => e.text),
      [
        "Glob **/*",
        "Glob returned: README.md\ndeno.json\nsrc/main.ts",
        "Grep TODO",
        "Grep returned: README.md:2: TODO: write docs\nsrc/main.ts:1: // TODO: main",
      ],
    );
    assert.equal(events[0].kind, "log");
    assert.equal(events.at(-1)?.kind, "usage");
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("demo agent: [demo:fail] ends as an API error", async () => {
  const { dir, outside } = await project();
  try {
    const { outcome } = await runDemo(dir, "please [demo:fail]");
    assert.equal(outcome.success, false);
    assert.equal(outcome.error?.code, "runner_api_error");
    assert.match(outcome.error!.message, /status 500/);
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("demo agent: has no permission outside the cwd", async () => {
  const { dir, outside } = await project();
  try {
    // Same argv, but the agent script is replaced by a probe that tries to read outside.
    const manifest = demoManifest();
    const inv = buildInvocation({
      manifest,
      profile: "query",
      prompt: "x",
      cwd: dir,
      resolvedBinary: manifest.binary,
      env: Deno.env.toObject(),
    });
    const probe = `${dir}/probe.ts`;
    await Deno.writeTextFile(
      probe,
      `try { Deno.readTextFileSync(${
        JSON.stringify(`${outside}/outside/secret.txt`)
      }); console.log("READ"); } catch (e) { console.log(e.name); }
try { Deno.env.get("HOME"); console.log("ENV"); } catch (e) { console.log(e.name); }
try { Deno.writeTextFileSync(${
        JSON.stringify(`${dir}/w.txt`)
      }, "x"); console.log("WROTE"); } catch (e) { console.log(e.name); }`,
    );
    const args = [...inv.argv.slice(1, -1), probe];
    const out = await new Deno.Command(inv.argv[0], {
      args,
      cwd: dir,
      env: inv.env,
      clearEnv: true,
      stdin: "null",
    }).output();
    assert.equal(
      new TextDecoder().decode(out.stdout).trim().split("\n").join(","),
      "NotCapable,NotCapable,NotCapable",
    );
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});
