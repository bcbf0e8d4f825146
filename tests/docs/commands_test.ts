/**
 * @module
 * docs/commands.md and the command tree agree, both ways: every command in `cmesh --help`
 * (walked through `buildProgram()`) has a `## cmesh <command>` section naming each of its
 * visible flags and arguments, and every flag the page shows — in a section, in an inline
 * `cmesh ...` command, or in an example `$ cmesh ...` line — exists in that command's `--help`.
 * Hidden options are internal and are neither required nor allowed on the page.
 */
import assert from "node:assert/strict";
import type { Command, Option } from "commander";
import { buildProgram } from "../../src/cli/program.ts";

const DOC = Deno.readTextFileSync(new URL("../../docs/commands.md", import.meta.url));

/** A command's path below `cmesh`, e.g. "tasks show". */
function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c && c.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/**
 * Every command users can run: the leaves of the tree, and groups that also run on their own
 * (`cmesh peers` lists, `cmesh peers pin` pins); other groups only hold subcommands.
 */
function leaves(cmd: Command): Command[] {
  if (cmd.commands.length === 0) return [cmd];
  // Commander's typings do not expose the action handler.
  const runs = cmd.parent !== null &&
    (cmd as unknown as { _actionHandler?: unknown })._actionHandler;
  return [...(runs ? [cmd] : []), ...cmd.commands.flatMap(leaves)];
}

// Commander's Option has `hidden`, but its typings do not expose it.
const visible = (o: Option) => !(o as Option & { hidden?: boolean }).hidden;

/** Every command including groups and the root (path ""). */
function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

const program = buildProgram();
const commands = new Map(leaves(program).map((c) => [pathOf(c), c]));
const anyCommand = new Map(allCommands(program).map((c) => [pathOf(c), c]));

/** Flags every command answers to without declaring them. */
const IMPLICIT = new Set(["-h", "--help"]);

/** The `## cmesh <path>` sections of the page, path → body. */
function sections(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = markdown.split(/^## /m).slice(1);
  for (const part of parts) {
    const newline = part.indexOf("\n");
    const title = part.slice(0, newline).trim();
    const m = /^cmesh (.+)$/.exec(title);
    if (m) out.set(m[1].trim(), part.slice(newline + 1).replace(/<!--[\s\S]*?-->/g, ""));
  }
  return out;
}

const documented = sections(DOC);

/**
 * Finds the command a `cmesh a b c ...` word list names: the longest known path, a group
 * (`cmesh tasks`) or the root (`cmesh --help`); null when the first word is no command.
 */
function commandIn(words: string[]): Command | null {
  for (let n = Math.min(words.length, 3); n >= 0; n--) {
    const found = anyCommand.get(words.slice(0, n).join(" "));
    if (found && (n > 0 || words.length === 0 || words[0].startsWith("-"))) return found;
  }
  return null;
}

/** The flags a command declares and shows in its help. */
function flagsOf(cmd: Command): Set<string> {
  const out = new Set(IMPLICIT);
  for (const o of cmd.options.filter(visible)) {
    if (o.long) out.add(o.long);
    if (o.short) out.add(o.short);
  }
  return out;
}

/** Long flags (`--name`) in a piece of text. */
function flagsIn(text: string): string[] {
  return [...text.matchAll(/(?<![\w-])(--[a-z][a-z0-9-]*)/g)].map((m) => m[1]);
}

/** Removes fenced code blocks, returning the prose and the blocks apart. */
function splitFences(body: string): { prose: string; code: string[] } {
  const code: string[] = [];
  const prose = body.replace(/^```[^\n]*\n([\s\S]*?)^```$/gm, (_all, inner: string) => {
    code.push(inner);
    return "";
  });
  return { prose, code };
}

Deno.test("every command in cmesh --help has its own section in docs/commands.md", () => {
  assert.ok(commands.size >= 19, `only ${commands.size} commands found`);
  const missing = [...commands.keys()].filter((p) => !documented.has(p));
  assert.deepEqual(missing, [], "commands without a '## cmesh <command>' section");
});

Deno.test("every section of docs/commands.md is a command that exists", () => {
  const unknown = [...documented.keys()].filter((p) => !commands.has(p));
  assert.deepEqual(unknown, [], "sections for commands that do not exist");
});

Deno.test("every command is linked from the Commands index at the top of the page", () => {
  const index = DOC.slice(0, DOC.indexOf("\n## "));
  for (const path of commands.keys()) {
    const anchor = `#cmesh-${path.replaceAll(" ", "-")}`;
    assert.ok(index.includes(`(${anchor})`), `index lacks ${anchor}`);
  }
});

for (const [path, cmd] of commands) {
  Deno.test(`cmesh ${path}: every visible flag and argument is documented`, () => {
    const body = documented.get(path);
    assert.ok(body !== undefined, `no section for cmesh ${path}`);
    const help = cmd.helpInformation();
    for (const o of cmd.options.filter(visible)) {
      assert.ok(help.includes(o.long!), `${o.long} is not in --help`);
      assert.ok(body.includes(`\`${o.long}`), `cmesh ${path}: ${o.long} is not documented`);
    }
    for (const arg of cmd.registeredArguments) {
      assert.ok(body.includes(`<${arg.name()}>`), `cmesh ${path}: <${arg.name()}> undocumented`);
    }
  });

  Deno.test(`cmesh ${path}: every flag the section shows exists in --help`, () => {
    const body = documented.get(path)!;
    const { prose, code } = splitFences(body);
    const problems: string[] = [];
    const check = (target: Command, flag: string, where: string) => {
      if (!flagsOf(target).has(flag)) {
        problems.push(`${where}: ${flag} is not a flag of cmesh ${pathOf(target)}`);
      }
    };
    // Inline code: `cmesh other --flag` belongs to that command, anything else to this one.
    for (const [, span] of prose.matchAll(/`([^`]+)`/g)) {
      const words = span.trim().split(/\s+/);
      const target = words[0] === "cmesh" ? commandIn(words.slice(1)) : cmd;
      if (target === null) {
        if (words[0] === "cmesh") problems.push(`\`${span}\` names no command`);
        continue;
      }
      for (const flag of flagsIn(span)) check(target, flag, `\`${span}\``);
    }
    // Example sessions: `$ cmesh ...` lines.
    for (const block of code) {
      for (const line of block.split("\n")) {
        const m = /^\$ cmesh\s+(.*)$/.exec(line.trim());
        if (!m) continue;
        const target = commandIn(m[1].split(/\s+/));
        if (target === null) {
          problems.push(`'${line.trim()}' names no command`);
          continue;
        }
        for (const flag of flagsIn(m[1].replace(/"[^"]*"|'[^']*'/g, ""))) {
          check(target, flag, `'${line.trim()}'`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });
}

Deno.test("hidden options stay off the page", () => {
  const hidden = [...commands.values()].flatMap((c) =>
    c.options.filter((o) => !visible(o)).map((o) => o.long!)
  );
  assert.ok(hidden.length > 0, "expected at least one hidden option (the demo's identity flag)");
  for (const flag of hidden) assert.ok(!DOC.includes(flag), `${flag} is documented`);
});

Deno.test("global flags: --version on cmesh, --json and --config on every command, nothing made up", () => {
  assert.ok(flagsOf(program).has("--version"));
  for (const [path, cmd] of commands) {
    for (const flag of ["--json", "--config"]) {
      assert.ok(flagsOf(cmd).has(flag), `cmesh ${path} lacks ${flag}`);
    }
  }
  const global = DOC.slice(DOC.indexOf("## Global behaviour"), DOC.indexOf("\n## cmesh "));
  const anywhere = new Set([
    ...flagsOf(program),
    ...[...commands.values()].flatMap((c) => [...flagsOf(c)]),
  ]);
  for (const flag of flagsIn(global)) assert.ok(anywhere.has(flag), `global section shows ${flag}`);
});

Deno.test("the section parser and flag finder work on a sample", () => {
  const sample = "## cmesh a b\n\nx `--one` and `cmesh c --two`\n\n## Other\n\ny\n";
  const s = sections(sample);
  assert.deepEqual([...s.keys()], ["a b"]);
  assert.deepEqual(flagsIn(s.get("a b")!), ["--one", "--two"]);
  assert.deepEqual(flagsIn("a-b--c --d"), ["--d"]);
  const { prose, code } = splitFences("p\n```\n$ cmesh x --y\n```\nq\n");
  assert.equal(code.length, 1);
  assert.ok(!prose.includes("--y"));
});
