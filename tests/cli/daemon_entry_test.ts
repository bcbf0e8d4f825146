import assert from "node:assert/strict";
import { DAEMON_OPTIONS, daemonArgs } from "../../src/cli/daemon_entry.ts";
import { buildProgram } from "../../src/cli/program.ts";
import { runCmesh, withHome } from "./cli_harness.ts";
import { staticImports } from "../support/module_graph.ts";

Deno.test("daemonArgs: the daemon's options, named as the command tree names them", () => {
  assert.deepEqual(daemonArgs([]), {});
  assert.deepEqual(
    daemonArgs([
      "--json",
      "--config",
      "/etc/cmesh/config.toml",
      "--env-file=/etc/cmesh/service.env",
      "--local-only",
    ]),
    {
      json: true,
      config: "/etc/cmesh/config.toml",
      envFile: "/etc/cmesh/service.env",
      localOnly: true,
    },
  );
  assert.deepEqual(daemonArgs(["--insecure-local-demo", "alpha"]), { insecureLocalDemo: "alpha" });
});

Deno.test("daemonArgs: anything else is left to the full CLI", () => {
  for (
    const argv of [
      ["--help"],
      ["-h"],
      ["--bogus"],
      ["extra"],
      ["--config"],
      ["--config", "--json"],
      ["--json", "--json"],
      ["--config=a", "--config=b"],
      ["-V"],
    ]
  ) {
    assert.equal(daemonArgs(argv), undefined, argv.join(" "));
  }
});

Deno.test("cmesh daemon: help and usage errors still come from the command tree", async () => {
  await withHome(async (home) => {
    const help = await runCmesh(["daemon", "--help"], { home });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--env-file <file>/);
    const bad = await runCmesh(["daemon", "--bogus", "--json"], { home });
    assert.equal(bad.code, 2);
    assert.equal(JSON.parse(bad.stdout).error.code, "usage");
    assert.match(JSON.parse(bad.stdout).error.message, /unknown option '--bogus'/);
  });
});

Deno.test("cmesh daemon: a start-up error through the fast path reads as the CLI's", async () => {
  await withHome(async (home) => {
    await Deno.writeTextFile(`${home}/config.toml`, `[daemon]\nbogus = 1\n`);
    const json = await runCmesh(["daemon", "--json"], { home });
    assert.equal(json.code, 1);
    assert.equal(JSON.parse(json.stdout).error.code, "invalid_config");
    const text = await runCmesh(["daemon"], { home, env: { NO_COLOR: "1" } });
    assert.equal(text.code, 1);
    assert.match(text.stderr, /error: .*daemon\.bogus: unknown key/s);
  });
});

Deno.test("the daemon's entry does not import the command tree (commander)", async () => {
  const mods = [
    ...await staticImports("src/cli/daemon_entry.ts"),
    ...await staticImports("src/cli/commands/daemon.ts"),
  ];
  assert.ok(mods.includes("src/daemon/main.ts"), "the graph is read");
  for (const m of mods) {
    assert.ok(!/commander|src\/cli\/program\.ts/.test(m), `${m} is imported by the daemon`);
  }
  // main.ts itself imports neither statically.
  const main = await staticImports("src/main.ts");
  assert.ok(!main.some((m) => /commander|src\/cli\/program\.ts/.test(m)), main.join("\n"));
});

Deno.test("daemonArgs takes exactly the options the command tree declares for cmesh daemon", () => {
  const daemon = buildProgram().commands.find((c) => c.name() === "daemon")!;
  const declared = daemon.options.map((o) => o.long!.replace(/^--/, "")).sort();
  assert.deepEqual(Object.keys(DAEMON_OPTIONS).sort(), declared);
  for (const o of daemon.options) {
    const want = o.required || o.optional ? "string" : "boolean";
    assert.equal(
      DAEMON_OPTIONS[o.long!.slice(2) as keyof typeof DAEMON_OPTIONS].type,
      want,
      o.long,
    );
  }
});
