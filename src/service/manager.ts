/**
 * @module
 * `cmesh service install|uninstall|status`: write the OS's service definition (systemd user
 * unit, launchd agent, Scheduled Task), then ask the service manager to load and start it.
 * When the manager is absent or refuses (no systemd user session in a container, no GUI
 * login for launchd), the file is still written and the outcome says exactly what to run.
 *
 * @example
 * ```ts
 * import { installService, serviceEnvironment } from "./manager.ts";
 * const [stateDir, configDir] = ["/home/ann/.local/state/cmesh", "/home/ann/.config/cmesh"];
 * const out = await installService(serviceEnvironment({ stateDir, configDir }), { start: true });
 * if (!out.started) console.error(out.hint);
 * ```
 */
import { dirname, join } from "node:path";
import { VERSION } from "../version.ts";
import { describeCommand, type RunCommand, systemCommandRunner } from "./commands.ts";
import { launchdPlist, launchdPlistPath } from "./launchd.ts";
import {
  carriedEnv,
  currentSelf,
  daemonInvocation,
  LAUNCHD_LABEL,
  type SelfInfo,
  SERVICE_NAME,
  type ServiceSpec,
} from "./spec.ts";
import { systemdUnit, systemdUnitPath } from "./systemd.ts";
import { utf16leWithBom, WINDOWS_TASK_NAME, windowsTaskXml } from "./windows_task.ts";
import { DAEMON_ENV } from "../util/deno_permissions.ts";

/** Which service manager an OS uses. */
export type ServiceManagerName = "systemd" | "launchd" | "schtasks";

/** Everything the actions need, injected (tests pass a recording `run`). */
export interface ServiceEnvironment {
  os: typeof Deno.build.os;
  env: Record<string, string | undefined>;
  self: SelfInfo;
  /** A config file chosen explicitly (`--config`); passed to the daemon as `--config`. */
  configFile?: string;
  /** State dir (launchd log file). */
  stateDir: string;
  /** Config dir (the systemd env file, the Windows task XML). */
  configDir: string;
  run: RunCommand;
  /** POSIX uid (launchd's `gui/<uid>` domain). */
  uid: number | null;
  version: string;
}

/** The environment of this process. */
export function serviceEnvironment(
  opts: { stateDir: string; configDir: string; configFile?: string; run?: RunCommand },
): ServiceEnvironment {
  return {
    os: Deno.build.os,
    env: Deno.env.toObject(),
    self: currentSelf(),
    configFile: opts.configFile,
    stateDir: opts.stateDir,
    configDir: opts.configDir,
    run: opts.run ?? systemCommandRunner(),
    uid: Deno.uid(),
    version: VERSION,
  };
}

/** One command the action ran. */
export interface ServiceStep {
  command: string;
  ok: boolean;
  /** Its output when it failed. */
  detail?: string;
}

/** A service definition for this OS: where it goes and its bytes. */
export interface ServiceDefinition {
  manager: ServiceManagerName;
  file: string;
  /** The text (for display and content checks). */
  text: string;
  /** The bytes to write (UTF-16 for the Windows task). */
  bytes: Uint8Array;
}

function specFor(se: ServiceEnvironment): ServiceSpec {
  const home = se.os === "windows" ? se.env.USERPROFILE ?? se.env.HOME : se.env.HOME;
  if (!home) throw new Error("cannot find the home directory (HOME / USERPROFILE)");
  const envFile = join(se.configDir, "service.env");
  return {
    // systemd loads service.env itself; launchd and Task Scheduler cannot carry variables.
    invocation: daemonInvocation(se.self, se.configFile, se.os === "linux" ? undefined : envFile),
    // DAEMON_ENV tunes glibc's allocator: only Linux has it.
    env: se.os === "windows" ? {} : {
      ...(se.os === "linux" ? DAEMON_ENV : {}),
      ...carriedEnv(se.env),
    },
    workingDirectory: home,
    logFile: join(se.stateDir, "daemon.log"),
    envFile,
    version: se.version,
  };
}

/** The definition `install` would write now. */
export function serviceDefinition(se: ServiceEnvironment): ServiceDefinition {
  const spec = specFor(se);
  const enc = (t: string) => new TextEncoder().encode(t);
  if (se.os === "linux") {
    const text = systemdUnit(spec);
    return { manager: "systemd", file: systemdUnitPath(se.env), text, bytes: enc(text) };
  }
  if (se.os === "darwin") {
    const text = launchdPlist(spec);
    return { manager: "launchd", file: launchdPlistPath(se.env), text, bytes: enc(text) };
  }
  if (se.os === "windows") {
    const user = se.env.USERDOMAIN ? `${se.env.USERDOMAIN}\\${se.env.USERNAME}` : se.env.USERNAME;
    if (!user) throw new Error("cannot find the Windows user name (USERNAME)");
    const text = windowsTaskXml(spec, user);
    return {
      manager: "schtasks",
      file: join(se.configDir, "cmesh-task.xml"),
      text,
      bytes: utf16leWithBom(text),
    };
  }
  throw new Error(`no user service support for ${se.os}: run 'cmesh daemon' yourself`);
}

async function readBytes(file: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

const sameBytes = (a: Uint8Array | null, b: Uint8Array) =>
  a !== null && a.length === b.length && a.every((x, i) => x === b[i]);

/** What `install` did. */
export interface InstallOutcome {
  manager: ServiceManagerName;
  file: string;
  /** False when the file already had exactly this content. */
  changed: boolean;
  /** True when the manager accepted the start (false with `start: false` too). */
  started: boolean;
  steps: ServiceStep[];
  /** What the user should do when it could not be started; null otherwise. */
  hint: string | null;
}

/** Runs steps in order until one fails; returns whether all passed. */
async function runSteps(
  se: ServiceEnvironment,
  steps: ServiceStep[],
  list: [string, string[], { ignoreFailure?: boolean }?][],
): Promise<{ ok: boolean; missing: boolean; stderr: string }> {
  for (const [program, args, opt] of list) {
    const r = await se.run(program, args);
    const ok = r.code === 0;
    const output = (r.stderr.trim() || r.stdout.trim()).slice(0, 500);
    steps.push({ command: describeCommand(program, args), ok, ...(ok ? {} : { detail: output }) });
    if (!ok && !opt?.ignoreFailure) return { ok: false, missing: !!r.missing, stderr: output };
  }
  return { ok: true, missing: false, stderr: "" };
}

function systemdHint(missing: boolean, stderr: string): string {
  const manual =
    "systemctl --user daemon-reload && systemctl --user enable cmesh.service && systemctl --user restart cmesh.service";
  if (missing) {
    return "systemctl is not installed here: start the daemon another way ('cmesh daemon', e.g. from your session's autostart)";
  }
  if (/bus|XDG_RUNTIME_DIR|Failed to connect/i.test(stderr)) {
    return `no systemd user session is reachable from this shell (a container, 'su' or 'sudo' shell): log in as this user normally (or run 'loginctl enable-linger $USER' as root), then run: ${manual}`;
  }
  return `systemctl refused (${stderr}); fix that, then run: ${manual}`;
}

/**
 * Writes the definition and (with `start`) loads and starts the service. A running service is
 * restarted when its file changed, or always with `restart` (so it re-reads config.toml).
 */
export async function installService(
  se: ServiceEnvironment,
  opts: { start: boolean; restart?: boolean },
): Promise<InstallOutcome> {
  const def = serviceDefinition(se);
  const before = await readBytes(def.file);
  const changed = !sameBytes(before, def.bytes);
  if (changed) {
    await Deno.mkdir(dirname(def.file), { recursive: true });
    const tmp = `${def.file}.tmp-${Deno.pid}`;
    await Deno.writeFile(tmp, def.bytes, { mode: 0o644 });
    await Deno.rename(tmp, def.file);
  }
  const out: InstallOutcome = {
    manager: def.manager,
    file: def.file,
    changed,
    started: false,
    steps: [],
    hint: null,
  };
  if (!opts.start) return out;
  const restart = changed || opts.restart === true;
  if (def.manager === "systemd") {
    const unit = `${SERVICE_NAME}.service`;
    const r = await runSteps(se, out.steps, [
      ["systemctl", ["--user", "daemon-reload"]],
      ["systemctl", ["--user", "enable", unit]],
      ["systemctl", ["--user", restart ? "restart" : "start", unit]],
    ]);
    out.started = r.ok;
    if (!r.ok) out.hint = systemdHint(r.missing, r.stderr);
  } else if (def.manager === "launchd") {
    const domain = `gui/${se.uid}`;
    const target = `${domain}/${LAUNCHD_LABEL}`;
    const loaded = (await se.run("launchctl", ["print", target])).code === 0;
    const list: [string, string[], { ignoreFailure?: boolean }?][] = [];
    if (loaded && changed) list.push(["launchctl", ["bootout", target], { ignoreFailure: true }]);
    if (!loaded || changed) list.push(["launchctl", ["bootstrap", domain, def.file]]);
    else list.push(["launchctl", ["kickstart", ...(restart ? ["-k"] : []), target]]);
    const r = await runSteps(se, out.steps, list);
    out.started = r.ok;
    if (!r.ok) {
      out.hint = r.missing
        ? "launchctl is not available: start the daemon with 'cmesh daemon'"
        : `launchctl refused (${r.stderr}); launch agents need a GUI login session. Then run: launchctl bootstrap ${domain} ${
          JSON.stringify(def.file)
        }`;
    }
  } else {
    const list: [string, string[], { ignoreFailure?: boolean }?][] = [
      ["schtasks", ["/Create", "/TN", WINDOWS_TASK_NAME, "/XML", def.file, "/F"]],
    ];
    if (restart) {
      list.push(["schtasks", ["/End", "/TN", WINDOWS_TASK_NAME], { ignoreFailure: true }]);
    }
    list.push(["schtasks", ["/Run", "/TN", WINDOWS_TASK_NAME]]);
    const r = await runSteps(se, out.steps, list);
    out.started = r.ok;
    if (!r.ok) {
      out.hint =
        `schtasks refused (${r.stderr}); run in PowerShell: schtasks /Create /TN ${WINDOWS_TASK_NAME} /XML "${def.file}" /F; schtasks /Run /TN ${WINDOWS_TASK_NAME}`;
    }
  }
  return out;
}

/** What `uninstall` did. */
export interface UninstallOutcome {
  manager: ServiceManagerName;
  file: string;
  /** True when a definition file was removed. */
  removed: boolean;
  /**
   * False when an installed service could not be stopped (it may still be running); "not
   * loaded" answers count as stopped.
   */
  stopped: boolean;
  /** The manager's words when `stopped` is false. */
  stop_error?: string;
  /** The command that stops it by hand, when `stopped` is false. */
  stop_hint?: string;
  steps: ServiceStep[];
}

/** What service managers say when there was nothing to stop. */
const NOT_LOADED =
  /not loaded|no such process|could not find|not found|does not exist|cannot find|not running/i;

/** Stops and unloads the service (failures ignored: it may not be loaded) and removes its file. */
export async function uninstallService(se: ServiceEnvironment): Promise<UninstallOutcome> {
  const def = serviceDefinition(se);
  const present = (await readBytes(def.file)) !== null;
  const out: UninstallOutcome = {
    manager: def.manager,
    file: def.file,
    removed: false,
    stopped: true,
    steps: [],
  };
  const ignore = { ignoreFailure: true };
  let stopHint: string;
  if (def.manager === "systemd") {
    stopHint = "systemctl --user disable --now cmesh.service";
    await runSteps(se, out.steps, [[
      "systemctl",
      ["--user", "disable", "--now", "cmesh.service"],
      ignore,
    ]]);
  } else if (def.manager === "launchd") {
    stopHint = `launchctl bootout gui/${se.uid}/${LAUNCHD_LABEL}`;
    await runSteps(se, out.steps, [[
      "launchctl",
      ["bootout", `gui/${se.uid}/${LAUNCHD_LABEL}`],
      ignore,
    ]]);
  } else {
    stopHint = `schtasks /End /TN ${WINDOWS_TASK_NAME}`;
    await runSteps(se, out.steps, [
      ["schtasks", ["/End", "/TN", WINDOWS_TASK_NAME], ignore],
      ["schtasks", ["/Delete", "/TN", WINDOWS_TASK_NAME, "/F"], ignore],
    ]);
  }
  // Ignored above so removal goes on, but an installed service that would not stop is reported.
  const failedStop = out.steps.find((st) => !st.ok && !NOT_LOADED.test(st.detail ?? ""));
  if (present && failedStop) {
    out.stopped = false;
    out.stop_error = `${failedStop.command}: ${failedStop.detail || "failed"}`;
    out.stop_hint = stopHint;
  }
  if (present) {
    await Deno.remove(def.file);
    out.removed = true;
  }
  if (def.manager === "systemd" && present) {
    await runSteps(se, out.steps, [["systemctl", ["--user", "daemon-reload"], ignore]]);
  }
  return out;
}

/** What `status` found. */
export interface ServiceStatus {
  manager: ServiceManagerName;
  file: string;
  installed: boolean;
  /** Whether the file matches what `install` would write now (null when not installed). */
  up_to_date: boolean | null;
  /** The manager's word for the state (`active`, `running`, `Ready`...), or why unknown. */
  state: string;
}

/** Reads the definition file and asks the manager for the state. */
export async function serviceStatus(se: ServiceEnvironment): Promise<ServiceStatus> {
  const def = serviceDefinition(se);
  const bytes = await readBytes(def.file);
  const installed = bytes !== null;
  let state = "not installed";
  if (installed) {
    if (def.manager === "systemd") {
      const r = await se.run("systemctl", ["--user", "is-active", "cmesh.service"]);
      state = r.missing
        ? "unknown (no systemctl)"
        : r.stdout.trim() || r.stderr.trim() || "unknown";
    } else if (def.manager === "launchd") {
      const r = await se.run("launchctl", ["print", `gui/${se.uid}/${LAUNCHD_LABEL}`]);
      state = r.code === 0
        ? (/^\s*state = (.+)$/m.exec(r.stdout)?.[1]?.trim() ?? "loaded")
        : "not loaded";
    } else {
      const r = await se.run("schtasks", ["/Query", "/TN", WINDOWS_TASK_NAME, "/FO", "LIST"]);
      state = r.code === 0
        ? (/^Status:\s*(.+)$/m.exec(r.stdout)?.[1]?.trim() ?? "registered")
        : "not registered";
    }
  }
  return {
    manager: def.manager,
    file: def.file,
    installed,
    up_to_date: installed ? sameBytes(bytes, def.bytes) : null,
    state,
  };
}
