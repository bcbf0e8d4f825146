/**
 * @module
 * `cmesh uninstall`: remove the MCP registrations (always), and — only when asked by flag —
 * stop and remove the service, the binary, the config and the state.
 */
import { basename, dirname, join, resolve } from "node:path";
import { currentPaths } from "../../config/paths.ts";
import { ControlClient } from "../../control/client.ts";
import { uninstallService } from "../../service/manager.ts";
import { unregisterAgents } from "../../setup/agents/register.ts";
import { configFileFor, loadConfigFor, stateDirOf } from "../context.ts";
import { type CommonOptions, emit, EXIT } from "../output.ts";
import { agentList, describeResults } from "./install_mcp.ts";
import { serviceEnvFor } from "./service.ts";

/** Options of `cmesh uninstall`. */
export interface UninstallOptions extends CommonOptions {
  agent?: string[];
  dryRun?: boolean;
  stopService?: boolean;
  removeBinary?: boolean;
  removeConfig?: boolean;
  removeState?: boolean;
}

/** One optional step's outcome. */
interface StepOutcome {
  step: string;
  ok: boolean;
  message: string;
}

async function daemonAnswers(configFile: string): Promise<boolean> {
  try {
    return (await (await ControlClient.fromConfig(configFile)).get("/v1/status")).ok;
  } catch {
    return false;
  }
}

async function removePath(path: string, dryRun: boolean): Promise<boolean> {
  try {
    await Deno.lstat(path);
  } catch {
    return false;
  }
  if (!dryRun) await Deno.remove(path, { recursive: true });
  return true;
}

/** True when `dir` is missing or holds cmesh's files (never delete a directory we did not make). */
async function looksLikeStateDir(dir: string): Promise<boolean> {
  try {
    await Deno.stat(dir);
  } catch {
    return true;
  }
  for (const name of ["cmesh.db", "control.token"]) {
    try {
      await Deno.stat(join(dir, name));
      return true;
    } catch { /* keep looking */ }
  }
  return false;
}

/** Removes config.toml, its backups, runners/, service.env and the task XML; then the dir if empty. */
async function removeConfig(configFile: string, dryRun: boolean): Promise<string[]> {
  const dir = dirname(configFile);
  const removed: string[] = [];
  const names = [basename(configFile), "runners", "service.env", "cmesh-task.xml"];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith(`${basename(configFile)}.bak-`)) names.push(e.name);
    }
  } catch { /* no dir */ }
  for (const name of names) {
    if (await removePath(join(dir, name), dryRun)) removed.push(join(dir, name));
  }
  if (!dryRun) await Deno.remove(dir).catch(() => {}); // only when empty
  return removed;
}

/** `cmesh uninstall`. */
export async function uninstall(opts: UninstallOptions): Promise<void> {
  const dryRun = !!opts.dryRun;
  const configFile = resolve(configFileFor(opts));
  let stateDir = currentPaths().stateDir;
  try {
    stateDir = stateDirOf(await loadConfigFor(opts));
  } catch { /* defaults */ }

  const agents = await unregisterAgents({
    os: Deno.build.os,
    env: Deno.env.toObject(),
    only: agentList(opts.agent),
    dryRun,
  });
  const steps: StepOutcome[] = [];
  if (opts.stopService) {
    if (dryRun) {
      steps.push({ step: "service", ok: true, message: "would stop and remove the service" });
    } else {
      const out = await uninstallService(await serviceEnvFor(opts));
      steps.push({
        step: "service",
        ok: out.stopped,
        message: !out.stopped
          ? `removed ${out.file}, but the service could not be stopped (${out.stop_error}); stop it by hand: ${out.stop_hint}`
          : out.removed
          ? `stopped and removed ${out.file}`
          : "no service was installed",
      });
    }
  }
  if (opts.removeState) {
    if (!dryRun && await daemonAnswers(configFile)) {
      steps.push({
        step: "state",
        ok: false,
        message:
          `the daemon is still running: stop it first (add --stop-service, or stop 'cmesh daemon'); ${stateDir} was kept`,
      });
    } else if (!await looksLikeStateDir(stateDir)) {
      steps.push({
        step: "state",
        ok: false,
        message:
          `${stateDir} holds neither cmesh.db nor control.token: it does not look like a cmesh state directory, so it was kept`,
      });
    } else {
      const gone = await removePath(stateDir, dryRun);
      steps.push({
        step: "state",
        ok: true,
        message: gone
          ? `${dryRun ? "would remove" : "removed"} ${stateDir} (database, audit log, token)`
          : `${stateDir} does not exist`,
      });
    }
  }
  if (opts.removeConfig) {
    const removed = await removeConfig(configFile, dryRun);
    steps.push({
      step: "config",
      ok: true,
      message: removed.length
        ? `${dryRun ? "would remove" : "removed"} ${removed.join(", ")}`
        : "no config files found",
    });
  }
  if (opts.removeBinary) {
    if (!Deno.build.standalone) {
      steps.push({
        step: "binary",
        ok: false,
        message:
          "running from source (deno run): there is no installed binary to remove; delete the checkout yourself",
      });
    } else {
      const exe = Deno.execPath();
      try {
        if (!dryRun) await Deno.remove(exe);
        steps.push({
          step: "binary",
          ok: true,
          message: `${dryRun ? "would remove" : "removed"} ${exe}`,
        });
      } catch (e) {
        steps.push({
          step: "binary",
          ok: false,
          message: `could not remove ${exe}: ${(e as Error).message}; delete it by hand`,
        });
      }
    }
  }
  const failed = agents.some((a) => a.action === "error") || steps.some((s) => !s.ok);
  emit(opts, { dry_run: dryRun, agents, steps }, () =>
    [
      describeResults(agents.filter((a) => a.action !== "skipped"), dryRun) ||
      "no agent had cmesh registered",
      ...steps.map((s) => `${s.step.padEnd(15)} ${s.ok ? "" : "NOT DONE: "}${s.message}`),
      ...(opts.stopService || opts.removeBinary || opts.removeConfig || opts.removeState ? [] : [
        "kept the service, binary, config and state (see --stop-service, --remove-binary, --remove-config, --remove-state)",
      ]),
    ].join("\n"));
  if (failed) Deno.exitCode = EXIT.FAILURE;
}
