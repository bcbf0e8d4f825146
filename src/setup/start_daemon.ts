/**
 * @module
 * `cmesh_setup_start_daemon`'s core: install (or refresh) the user service, start or restart
 * it so it reads the current config, and wait until the daemon's control API answers. When
 * the service manager cannot start it, the outcome carries the manager's hint, and says so
 * if a daemon is answering anyway (e.g. one started by hand).
 *
 * @example
 * ```ts
 * import { serviceEnvironment } from "../service/manager.ts";
 * import { startDaemonService } from "./start_daemon.ts";
 * const configFile = "/home/ann/.config/cmesh/config.toml";
 * const serviceEnv = serviceEnvironment({
 *   stateDir: "/home/ann/.local/state/cmesh",
 *   configDir: "/home/ann/.config/cmesh",
 * });
 * const out = await startDaemonService({ configFile, serviceEnv, waitSeconds: 30 });
 * if (!out.healthy) console.error(out.hint);
 * ```
 */
import { ControlClient } from "../control/client.ts";
import {
  type InstallOutcome,
  installService,
  type ServiceEnvironment,
} from "../service/manager.ts";

/** What starting did. */
export interface StartOutcome {
  service: InstallOutcome;
  /** True when the control API answered `/v1/status` within the wait. */
  healthy: boolean;
  /** The daemon's status once healthy. */
  status?: Record<string, unknown>;
  waited_ms: number;
  /** What the user must do when it is not healthy. */
  hint?: string;
}

/** Asks the daemon for `/v1/status` once (a fresh client: the token may be new). */
export async function probeDaemon(
  configFile: string,
): Promise<{ ok: true; status: Record<string, unknown> } | { ok: false; message: string }> {
  try {
    const res = await (await ControlClient.fromConfig(configFile)).get("/v1/status");
    return res.ok ? { ok: true, status: res.body } : { ok: false, message: res.error.message };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

/** Installs/starts the service and waits for health. */
export async function startDaemonService(opts: {
  configFile: string;
  serviceEnv: ServiceEnvironment;
  waitSeconds: number;
  /** Restart a running daemon so it reads the current config (default true). */
  restart?: boolean;
  probe?: (configFile: string) => ReturnType<typeof probeDaemon>;
}): Promise<StartOutcome> {
  const probe = opts.probe ?? probeDaemon;
  const started = Date.now();
  const service = await installService(opts.serviceEnv, {
    start: true,
    restart: opts.restart !== false,
  });
  let last = "";
  do {
    const r = await probe(opts.configFile);
    if (r.ok) {
      return {
        service,
        healthy: true,
        status: r.status,
        waited_ms: Date.now() - started,
        ...(service.started ? {} : {
          hint:
            `a daemon answers, but the service could not be started (${service.hint}); the running daemon was started some other way and keeps its current config until restarted`,
        }),
      };
    }
    last = r.message;
    if (!service.started) break;
    await new Promise((res) => setTimeout(res, 500));
  } while (Date.now() - started < opts.waitSeconds * 1000);
  return {
    service,
    healthy: false,
    waited_ms: Date.now() - started,
    hint: service.started
      ? `the service was started but the daemon did not answer within ${opts.waitSeconds} s (${last}); read its log (journalctl --user -u cmesh, or daemon.log in the state dir on macOS) and run 'cmesh doctor'`
      : `${service.hint}. Alternatively run 'cmesh daemon' in a terminal and keep it open.`,
  };
}
