/**
 * @module
 * `cmesh service install|uninstall|status`: keep `cmesh daemon` running as a user service
 * (systemd user unit, launchd agent, Scheduled Task).
 */
import { dirname, resolve } from "node:path";
import { ControlClient } from "../../control/client.ts";
import {
  installService,
  serviceEnvironment,
  serviceStatus,
  uninstallService,
} from "../../service/manager.ts";
import { configFileFor, loadConfigFor, stateDirOf } from "../context.ts";
import { currentPaths } from "../../config/paths.ts";
import { CliError, type CommonOptions, emit, EXIT } from "../output.ts";

/** The service environment for a command's options. */
export async function serviceEnvFor(opts: CommonOptions) {
  const file = configFileFor(opts);
  let stateDir = currentPaths().stateDir;
  try {
    stateDir = stateDirOf(await loadConfigFor(opts));
  } catch { /* an invalid config still gets a service; the daemon will say what is wrong */ }
  return serviceEnvironment({
    stateDir,
    configDir: dirname(resolve(file)),
    configFile: opts.config ? file : undefined,
  });
}

/** `cmesh service install`. */
export async function serviceInstall(opts: CommonOptions & { start?: boolean }): Promise<void> {
  const out = await installService(await serviceEnvFor(opts), { start: opts.start !== false });
  if (opts.start !== false && !out.started) {
    throw new CliError(
      `${out.changed ? "wrote" : "kept"} ${out.file}, but the service was not started: ${out.hint}`,
      EXIT.FAILURE,
      "service_not_started",
      { ...out },
    );
  }
  emit(opts, out, () =>
    [
      `${out.changed ? "wrote" : "unchanged:"} ${out.file}`,
      ...out.steps.map((s) => `  ran: ${s.command}`),
      out.started
        ? `the ${out.manager} service is started; check it with 'cmesh service status' or 'cmesh doctor'`
        : `not started (--no-start); start it with your service manager or 'cmesh service install'`,
    ].join("\n"));
}

/** `cmesh service uninstall`. */
export async function serviceUninstall(opts: CommonOptions): Promise<void> {
  const out = await uninstallService(await serviceEnvFor(opts));
  if (!out.stopped) {
    throw new CliError(
      `${
        out.removed ? `removed ${out.file}, but` : ""
      } the ${out.manager} service could not be stopped and may still be running (${out.stop_error}); stop it by hand: ${out.stop_hint}`
        .trim(),
      EXIT.FAILURE,
      "service_stop_failed",
      { ...out },
    );
  }
  emit(
    opts,
    out,
    () =>
      out.removed
        ? `stopped and removed the ${out.manager} service (${out.file})`
        : `no service was installed (${out.file} does not exist)`,
  );
}

/** `cmesh service status`: the definition file, the manager's state, and the daemon itself. */
export async function serviceStatusCommand(opts: CommonOptions): Promise<void> {
  const st = await serviceStatus(await serviceEnvFor(opts));
  let daemon: { running: boolean; pid?: unknown; message?: string };
  try {
    const res = await (await ControlClient.fromConfig(configFileFor(opts))).get("/v1/status");
    daemon = res.ok
      ? { running: true, pid: res.body.pid }
      : { running: false, message: res.error.message };
  } catch (e) {
    daemon = { running: false, message: (e as Error).message };
  }
  emit(opts, { ...st, daemon }, () =>
    [
      `service: ${
        st.installed
          ? `${st.manager}, ${st.state}${
            st.up_to_date ? "" : " (file is out of date: run 'cmesh service install')"
          }`
          : "not installed (run 'cmesh service install')"
      }`,
      `file:    ${st.file}`,
      `daemon:  ${daemon.running ? `answering (pid ${daemon.pid})` : "not answering"}`,
    ].join("\n"));
}
