/**
 * @module
 * Helpers for driving the setup wizard the way an agent does: an MCP client on a spawned
 * `cmesh mcp` (optionally inside a network namespace) with a controlled environment, tool
 * calls returning text + structured content, and a stand-in `systemctl` that records its
 * arguments and, on `start`/`restart`, runs the generated unit's ExecStart in the background
 * (so `cmesh_setup_start_daemon` really starts a daemon without a systemd user session).
 */
import { join } from "node:path";
import { Client, ElicitRequestSchema, StdioClientTransport } from "../../src/deps/mcp_client.ts";
import { cmeshArgs, REPO_ROOT } from "../support/daemon.ts";
import { ipBinary } from "../support/netns.ts";

/** A tool result, flattened. */
export interface ToolOut {
  isError?: boolean;
  text: string;
  // deno-lint-ignore no-explicit-any
  data: any;
}

/** Calls a tool and flattens the result. */
export async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<ToolOut> {
  const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 240_000 });
  const content = (r.content ?? []) as { type: string; text?: string }[];
  return {
    isError: r.isError as boolean | undefined,
    text: content.map((c) => c.text ?? "").join("\n"),
    data: r.structuredContent,
  };
}

/** What a client that supports MCP elicitation answers (the user's side of the prompt). */
export type ElicitAnswer = (params: { message: string; requestedSchema?: unknown }) =>
  | { action: "accept"; content: Record<string, unknown> }
  | { action: "decline" | "cancel" };

/**
 * Spawns `cmesh mcp` with exactly `env` (inside `ns` when given) and connects a client. With
 * `onElicit`, the client declares the elicitation capability and answers with it.
 */
export async function connectWizard(
  env: Record<string, string>,
  ns?: string,
  onElicit?: ElicitAnswer,
): Promise<Client> {
  const argv = [Deno.execPath(), ...cmeshArgs("mcp")];
  const transport = new StdioClientTransport({
    command: ns ? ipBinary()! : argv[0],
    args: ns ? ["netns", "exec", ns, ...argv] : argv.slice(1),
    cwd: REPO_ROOT,
    env,
    stderr: "pipe",
  });
  const client = new Client(
    { name: "wizard-test", version: "0" },
    onElicit ? { capabilities: { elicitation: {} } } : undefined,
  );
  if (onElicit) client.setRequestHandler(ElicitRequestSchema, (req) => onElicit(req.params));
  await client.connect(transport);
  return client;
}

/**
 * Writes `<bin>/systemctl`: logs to `<state>/systemctl.log`; `start`/`restart` (re)runs the
 * unit's ExecStart in the background (pid in `<state>/daemon.pid`, output in
 * `<state>/daemon.log`); `is-active` says `active`.
 */
export async function fakeSystemctl(bin: string, state: string): Promise<void> {
  await Deno.mkdir(bin, { recursive: true });
  await Deno.mkdir(state, { recursive: true });
  await Deno.writeTextFile(
    join(bin, "systemctl"),
    `#!/bin/sh
echo "$*" >> "${state}/systemctl.log"
case "$*" in
  *"start cmesh.service"*)
    if [ -f "${state}/daemon.pid" ]; then kill "$(cat "${state}/daemon.pid")" 2>/dev/null; sleep 1; fi
    line=$(sed -n 's/^ExecStart=//p' "$HOME/.config/systemd/user/cmesh.service")
    sh -c "exec $line" >> "${state}/daemon.log" 2>&1 < /dev/null &
    echo $! > "${state}/daemon.pid"
    ;;
  *"is-active"*) echo active ;;
esac
exit 0
`,
    { mode: 0o755 },
  );
}

/** Stops the daemon a {@link fakeSystemctl} started (SIGTERM, then waits for it to go). */
export async function stopFakeService(state: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(await Deno.readTextFile(join(state, "daemon.pid")));
  } catch {
    return;
  }
  try {
    Deno.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      Deno.kill(pid, "SIGCONT");
    } catch {
      return;
    }
  }
  try {
    Deno.kill(pid, "SIGKILL");
  } catch { /* gone */ }
}
