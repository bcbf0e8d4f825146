/**
 * One list of permission flags (src/util/deno_permissions.ts): the deno.json tasks spell out the
 * same flags, the legacy `permissions.cmesh` set grants the same, the flags carry no paths (so
 * `deno compile` bakes none in), and nothing in the repository starts cmesh with `-P=cmesh`
 * (which makes Deno print its "experimental feature" warning on every run).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DAEMON_FLAGS,
  denoRunArgs,
  PERMISSION_FLAGS,
  RUNTIME_FLAGS,
} from "../../src/util/deno_permissions.ts";
import { REPO_ROOT } from "../support/daemon.ts";

const denoJson = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "deno.json")));

Deno.test("the deno.json tasks that run cmesh use exactly the permission flags", () => {
  const prefix = `deno run --no-prompt ${[...PERMISSION_FLAGS, ...RUNTIME_FLAGS].join(" ")} `;
  const tasks = denoJson.tasks as Record<string, string>;
  assert.equal(tasks.cmesh, `${prefix}src/main.ts`);
  assert.equal(tasks.demo, `${prefix}src/main.ts demo`);
  assert.equal(tasks.schemas, `${prefix}scripts/gen_schemas.ts`);
  for (const [name, task] of Object.entries(tasks)) {
    assert.doesNotMatch(task, /-P=|--permission-set/, `task ${name} uses a config permission set`);
  }
});

Deno.test("the permissions.cmesh set (kept for older -P=cmesh registrations) grants the same", () => {
  const set = denoJson.permissions?.cmesh as Record<string, boolean> | undefined;
  if (set === undefined) return; // removed: nothing to agree with
  const asFlags = Object.entries(set).map(([kind, on]) => `--${on ? "allow" : "deny"}-${kind}`);
  assert.deepEqual(asFlags.slice().sort(), PERMISSION_FLAGS.slice().sort());
});

Deno.test("the flags are booleans: no value a compile could bake in as a build-machine path", () => {
  for (const flag of PERMISSION_FLAGS) assert.match(flag, /^--(allow|deny)-[a-z]+$/);
  assert.ok(PERMISSION_FLAGS.includes("--deny-ffi"));
  assert.ok(!PERMISSION_FLAGS.some((f) => f === "--allow-all" || f === "-A"));
});

Deno.test("denoRunArgs: run, no prompts, the flags, --config only when given, then the entry", () => {
  assert.deepEqual(denoRunArgs("src/main.ts", ["version"]), [
    "run",
    "--no-prompt",
    ...PERMISSION_FLAGS,
    ...RUNTIME_FLAGS,
    "src/main.ts",
    "version",
  ]);
  const withConfig = denoRunArgs("/r/src/main.ts", ["mcp"], "/r/deno.json");
  assert.deepEqual(withConfig.slice(-4), ["--config", "/r/deno.json", "/r/src/main.ts", "mcp"]);
});

Deno.test("denoRunArgs: a daemon runs without V8's code cache, every other command with it", () => {
  assert.deepEqual(DAEMON_FLAGS, ["--no-code-cache"]);
  const daemon = denoRunArgs("/r/src/main.ts", ["daemon", "--local-only"], "/r/deno.json");
  assert.deepEqual(daemon, [
    "run",
    "--no-prompt",
    ...PERMISSION_FLAGS,
    ...RUNTIME_FLAGS,
    "--no-code-cache",
    "--config",
    "/r/deno.json",
    "/r/src/main.ts",
    "daemon",
    "--local-only",
  ]);
  for (const cmd of [["mcp"], ["version"], ["status", "daemon"]]) {
    assert.ok(!denoRunArgs("src/main.ts", cmd).includes("--no-code-cache"), cmd.join(" "));
  }
});

Deno.test("nothing in src, scripts, tests or bench starts cmesh with -P=cmesh", async () => {
  const offenders: string[] = [];
  const self = new URL(import.meta.url).pathname;
  async function walk(dir: string): Promise<void> {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) {
        if (e.name !== "node_modules" && e.name !== "testdata") await walk(path);
      } else if (/\.ts$/.test(e.name) && path !== self) {
        const text = await Deno.readTextFile(path);
        if (/["'` ]-P=cmesh\b/.test(text) && !path.endsWith("deno_permissions.ts")) {
          offenders.push(path.slice(REPO_ROOT.length));
        }
      }
    }
  }
  for (const top of ["src", "scripts", "tests", "bench"]) await walk(join(REPO_ROOT, top));
  assert.deepEqual(offenders, []);
});
