/**
 * @module
 * The embedded default for `cmesh demo`: two nodes on this machine (`laptop` asks, `server`
 * works), a sample git repo, the built-in read-only demo runner, and the local-demo identity
 * source. Nothing here touches Tailscale or needs an API key.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { denoRunArgs } from "../util/deno_permissions.ts";
import { freePorts } from "../util/free_ports.ts";

/** Where the demo lives and which ports it uses. */
export interface DemoLayout {
  base: string;
  laptopHome: string;
  serverHome: string;
  repo: string;
  ports: {
    laptopControl: number;
    serverControl: number;
    serverWorker: number;
    laptopWorker: number;
  };
}

/** The head of a demo node's config: what it is, its name and its two ports. */
function nodeHead(role: string, name: string, controlPort: number, workerPort: number): string {
  return `# cmesh demo: the ${role} node ("${name}").
[node]
name = "${name}"
[daemon]
control_port = ${controlPort}
worker_port = ${workerPort}
`;
}

/** Config of the requesting node. */
export function laptopConfig(l: DemoLayout): string {
  return `${nodeHead("requesting", "laptop", l.ports.laptopControl, l.ports.laptopWorker)}[inbound]
enabled = false
[[outbound.peers]]
name = "server"
address = "127.0.0.1"          # the demo's stand-in for a tailnet address
port = ${l.ports.serverWorker}
profiles = ["query"]           # laptop allows itself only read-only tasks
cwd = ["${l.base}/**"]
`;
}

/** Config of the working node. */
export function serverConfig(l: DemoLayout): string {
  return `${nodeHead("working", "server", l.ports.serverControl, l.ports.serverWorker)}[inbound]
enabled = true
max_concurrent = 2
[[inbound.allow]]
peers = ["laptop"]
profiles = ["query"]
cwd = ["${l.repo}"]
runners = ["demo"]
[runners.demo]                 # the built-in read-only demo agent (no model, no keys)
`;
}

const SAMPLE_FILES: Record<string, string> = {
  "README.md": "# sample-app\n\nA tiny project for the cmesh demo.\n",
  "src/app.ts": "export function greet(name: string): string {\n  return `hello ${name}`;\n}\n",
  "src/app_test.ts":
    'import { greet } from "./app.ts";\nif (greet("a") !== "hello a") throw new Error("greet");\n',
  "package.json": '{ "name": "sample-app", "version": "1.0.0" }\n',
};

/** Creates the demo's directories, configs and sample repo. */
export async function createDemoLayout(base: string): Promise<DemoLayout> {
  const [laptopControl, serverControl, serverWorker, laptopWorker] = freePorts(4);
  const l: DemoLayout = {
    base,
    laptopHome: join(base, "laptop"),
    serverHome: join(base, "server"),
    repo: join(base, "server-repos", "sample-app"),
    ports: {
      laptopControl,
      serverControl,
      serverWorker,
      laptopWorker,
    },
  };
  for (const [rel, text] of Object.entries(SAMPLE_FILES)) {
    await Deno.mkdir(join(l.repo, rel, ".."), { recursive: true });
    await Deno.writeTextFile(join(l.repo, rel), text);
  }
  const git = (...args: string[]) =>
    new Deno.Command("git", {
      args: ["-c", "user.email=demo@cmesh.invalid", "-c", "user.name=cmesh demo", ...args],
      cwd: l.repo,
      stdout: "null",
      stderr: "null",
    }).output().catch(() => null);
  await git("init", "-q");
  await git("add", ".");
  await git("commit", "-qm", "sample app");
  await Deno.mkdir(l.laptopHome, { recursive: true, mode: 0o700 });
  await Deno.mkdir(l.serverHome, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(join(l.laptopHome, "config.toml"), laptopConfig(l));
  await Deno.writeTextFile(join(l.serverHome, "config.toml"), serverConfig(l));
  return l;
}

/**
 * The command that runs this same cmesh with `args` (the compiled binary, or `deno run` from
 * source, through `denoRunArgs`: a `daemon` command gets the daemon's flags there).
 */
export function selfCommand(args: string[]): { bin: string; args: string[] } {
  const exe = Deno.execPath();
  if (Deno.build.standalone) return { bin: exe, args };
  const main = fileURLToPath(new URL("../main.ts", import.meta.url));
  const denoJson = fileURLToPath(new URL("../../deno.json", import.meta.url));
  return { bin: exe, args: denoRunArgs(main, args, denoJson) };
}
