/**
 * @module
 * The command frame, through the real entry point: help, usage errors and their exit codes,
 * the `--json` form of usage errors. Plus an in-process check of the command tree that every
 * command added later must also pass.
 */
import assert from "node:assert/strict";
import type { Command } from "commander";
import { buildProgram } from "../../src/cli/program.ts";
import { jsonOf, runCmesh, withHome } from "./cli_harness.ts";

/** Command names listed under "Commands:" in a help text. */
function listedCommands(help: string): string[] {
  const section = help.split(/^Commands:\n/m)[1] ?? "";
  return section.split("\n")
    .map((line) => /^ {2}([a-z][a-z-]*)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

Deno.test("--help lists the commands and the exit codes, exit 0", async () => {
  await withHome(async (home) => {
    for (const flag of ["--help", "-h"]) {
      const r = await runCmesh([flag], { home });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Usage: cmesh /);
      const commands = listedCommands(r.stdout);
      for (const name of ["version", "config", "help"]) {
        assert.ok(commands.includes(name), `${flag}: ${name} missing from ${commands}`);
      }
      assert.match(r.stdout, /Exit codes: 0 ok, 1 failure, 2 usage error, 3 denied by policy\./);
      assert.equal(r.cmeshStderr.trim(), "");
    }
  });
});

Deno.test("config --help lists its subcommands", async () => {
  await withHome(async (home) => {
    const r = await runCmesh(["config", "--help"], { home });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: cmesh config /);
    const commands = listedCommands(r.stdout);
    for (const name of ["init", "show", "validate", "path"]) {
      assert.ok(commands.includes(name), `${name} missing from ${commands}`);
    }
  });
});

Deno.test("<command> --help shows the command's flags, exit 0", async () => {
  await withHome(async (home) => {
    const cases: [string[], string[]][] = [
      [["version", "--help"], ["--json", "--config <file>"]],
      [["config", "init", "--help"], ["--json", "--config <file>", "--force"]],
      [["config", "show", "--help"], ["--json", "--config <file>"]],
      [["config", "validate", "--help"], ["--json", "--config <file>"]],
      [["config", "path", "--help"], ["--json", "--config <file>"]],
      [["help", "version"], ["--json"]],
    ];
    for (const [args, flags] of cases) {
      const r = await runCmesh(args, { home });
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stdout, /^Usage: cmesh /, args.join(" "));
      for (const flag of flags) assert.ok(r.stdout.includes(flag), `${args.join(" ")}: ${flag}`);
    }
  });
});

Deno.test("--help wins over --json: help text, not JSON", async () => {
  await withHome(async (home) => {
    const r = await runCmesh(["version", "--json", "--help"], { home });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: cmesh version/);
  });
});

Deno.test("unknown command: exit 2, the error and a hint on stderr, nothing on stdout", async () => {
  await withHome(async (home) => {
    const r = await runCmesh(["frobnicate"], { home });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(r.cmeshStderr, /error: unknown command 'frobnicate'/);
    assert.match(r.cmeshStderr, /cmesh --help/);
  });
});

Deno.test("a misspelt command suggests the right one", async () => {
  await withHome(async (home) => {
    const r = await runCmesh(["versoin"], { home });
    assert.equal(r.code, 2);
    assert.match(r.cmeshStderr, /Did you mean version\?/);
    const sub = await runCmesh(["config", "valdate"], { home });
    assert.equal(sub.code, 2);
    assert.match(sub.cmeshStderr, /Did you mean validate\?/);
  });
});

Deno.test("unknown command with --json: exit 2 and {error:{code:'usage'}} on stdout", async () => {
  await withHome(async (home) => {
    const r = await runCmesh(["frobnicate", "--json"], { home });
    assert.equal(r.code, 2);
    assert.deepEqual(jsonOf(r), {
      error: { code: "usage", message: "unknown command 'frobnicate'" },
    });
    assert.equal(r.cmeshStderr.trim(), "", "with --json, nothing for humans on stderr");
  });
});

Deno.test("unknown flag: exit 2 (human and --json)", async () => {
  await withHome(async (home) => {
    const human = await runCmesh(["version", "--frob"], { home });
    assert.equal(human.code, 2);
    assert.match(human.cmeshStderr, /error: unknown option '--frob'/);
    assert.equal(human.stdout, "");

    const top = await runCmesh(["--frob"], { home });
    assert.equal(top.code, 2);
    assert.match(top.cmeshStderr, /unknown option '--frob'/);

    const json = await runCmesh(["config", "show", "--frob", "--json"], { home });
    assert.equal(json.code, 2);
    const body = jsonOf(json) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "usage");
    assert.match(body.error.message, /unknown option '--frob'/);
  });
});

Deno.test("a flag missing its value and extra arguments are usage errors (exit 2)", async () => {
  await withHome(async (home) => {
    const missing = await runCmesh(["config", "show", "--config"], { home });
    assert.equal(missing.code, 2);
    assert.match(missing.cmeshStderr, /option '--config <file>' argument missing/);
    const extra = await runCmesh(["version", "extra"], { home });
    assert.equal(extra.code, 2);
    assert.match(extra.cmeshStderr, /too many arguments/);
  });
});

/** Every command in the tree, with its full name (`config init`). */
function allCommands(cmd: Command, prefix = ""): { name: string; cmd: Command }[] {
  return cmd.commands.flatMap((c) => {
    const name = `${prefix}${c.name()}`;
    return [{ name, cmd: c }, ...allCommands(c, `${name} `)];
  });
}

Deno.test("every leaf command has a description, --json and --config", () => {
  const leaves = allCommands(buildProgram()).filter(({ cmd }) => cmd.commands.length === 0);
  assert.ok(leaves.length >= 5);
  for (const { name, cmd } of leaves) {
    assert.ok(cmd.description(), `${name}: no description`);
    const flags = cmd.options.map((o) => o.long);
    assert.ok(flags.includes("--json"), `${name}: no --json`);
    assert.ok(flags.includes("--config"), `${name}: no --config`);
  }
});

Deno.test("every command documented in docs/commands.md exists, with its flags", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/commands.md", import.meta.url));
  const commands = new Map(allCommands(buildProgram()).map((c) => [c.name, c.cmd]));
  const sections = doc.split(/^## cmesh /m).slice(1);
  assert.ok(sections.length >= 5, "docs/commands.md has ## cmesh <command> sections");
  for (const section of sections) {
    const name = section.slice(0, section.indexOf("\n")).trim();
    const cmd = commands.get(name);
    assert.ok(cmd, `docs/commands.md documents "cmesh ${name}", which does not exist`);
    const documented = [...section.matchAll(/`(--[a-z][a-z-]*)/g)].map((m) => m[1]);
    const real = new Set([...cmd.options.map((o) => o.long), "--help"]);
    for (const flag of documented) {
      assert.ok(real.has(flag), `cmesh ${name}: documented flag ${flag} does not exist`);
    }
  }
  for (const name of ["version", "config init", "config show", "config validate", "config path"]) {
    assert.ok(doc.includes(`\n## cmesh ${name}\n`), `cmesh ${name} is not documented`);
  }
});
