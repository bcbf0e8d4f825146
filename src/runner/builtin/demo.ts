/**
 * @module
 * The built-in `demo` runner: a zero-dependency agent (`demo_agent.ts`) run by the same Deno
 * executable that runs cmesh, so `cmesh demo` works with no API keys and no vendor CLI. It
 * only reads the cwd and prints Claude-compatible stream-json, so the Claude parser covers it.
 *
 * @example
 * ```ts
 * import { demoManifest } from "./demo.ts";
 * const m = demoManifest();
 * m.binary; // Deno.execPath()
 * ```
 */
import { fileURLToPath } from "node:url";
import { CWD_PLACEHOLDER, parseManifest, type RunnerManifest } from "../manifest.ts";

/** The binary and leading args that start the demo agent. `{cwd}` is filled in per run. */
export interface DemoInvocationPrefix {
  /** Absolute path of the Deno executable running cmesh. */
  binary: string;
  /** `run` flags and the agent script; the only permission granted is read access to cwd. */
  args: string[];
}

/**
 * Where the demo agent lives and how to start it, resolved at run time.
 *
 * `--no-config`/`--no-lock` keep a `deno.json` in the task's cwd from changing how the
 * agent runs; `--no-remote`/`--no-npm` forbid any download; `--no-prompt` turns every
 * permission beyond `--allow-read={cwd}` into a denial.
 */
export function demoInvocationPrefix(): DemoInvocationPrefix {
  // A compiled cmesh has no `deno run`: it runs the agent through a hidden entry of its own
  // (with the binary's baked permissions; the agent itself only reads the cwd).
  if (Deno.build.standalone) return { binary: Deno.execPath(), args: ["__demo-agent"] };
  return {
    binary: Deno.execPath(),
    args: [
      "run",
      "--no-prompt",
      "--no-config",
      "--no-lock",
      "--no-remote",
      "--no-npm",
      `--allow-read=${CWD_PLACEHOLDER}`,
      fileURLToPath(new URL("./demo_agent.ts", import.meta.url)),
    ],
  };
}

/** The built-in `demo` runner manifest, resolved for the running executable. */
export function demoManifest(): RunnerManifest {
  const prefix = demoInvocationPrefix();
  // The agent is read-only whatever the profile: it has no write or run permission.
  const profile = { args: [] };
  return parseManifest({
    name: "demo",
    description: "Demo agent bundled with cmesh: inspects the cwd read-only, no model, no keys",
    binary: prefix.binary,
    version_args: ["--version"],
    base_args: prefix.args,
    profiles: { query: profile, edit: profile, build: profile, full: profile },
    prompt: { via: "stdin", args: [] },
    output: "claude-stream-json",
    cancel: { signals: ["SIGTERM", "SIGKILL"], grace_ms: 1000 },
    // DENO_DIR: where Deno keeps its transpile cache; not a secret.
    env: { pass: ["DENO_DIR"], set: {} },
  }, "builtin:demo");
}
