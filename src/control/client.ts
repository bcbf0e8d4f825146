/**
 * @module
 * The HTTP transport to the local daemon's control API, for `cmesh mcp`, the CLI and setup:
 * it finds the port and token from the config and state dir, and turns "daemon not running"
 * into a message that says how to start it. The typed calls it inherits are in `calls.ts`.
 *
 * @example
 * ```ts
 * const client = await ControlClient.fromConfig("/home/ann/.config/cmesh/config.toml");
 * const status = await client.status();
 * if (status.ok) console.log(status.value.node);
 * ```
 */
import { dirname } from "node:path";
import { loadConfig } from "../config/load.ts";
import { stateDirFor } from "../config/paths.ts";
import type { ApiError } from "../protocol/task.ts";
import { ControlCalls, type ControlResponse } from "./calls.ts";
import { readBoundedBytes } from "../util/bounded_body.ts";
import { controlTokenPath, readControlToken } from "./token.ts";
import { PROOF_HEADER, proofHolds, sealBody, SEALED_TYPE, signRequest } from "./proof.ts";

/**
 * The most one control answer may be: read up to it, then cut off. The largest real one, a wait
 * answer with a result (at most 8 MiB from the peer) and every event of the task, stays far below.
 */
const MAX_CONTROL_ANSWER_MIB = 64;
export const MAX_CONTROL_ANSWER_BYTES = MAX_CONTROL_ANSWER_MIB * 1024 * 1024;

/** How to reach the daemon. */
export interface ControlEndpoint {
  port: number;
  token: string | null;
  tokenFile: string;
  configFile: string;
}

/** The message an agent or human gets when the daemon is down. */
export function daemonNotRunningMessage(ep: Pick<ControlEndpoint, "port" | "configFile">): string {
  return `the cmesh daemon is not running (nothing answers on 127.0.0.1:${ep.port}). ` +
    `Start it with 'cmesh daemon' (or 'cmesh service install' to keep it running), using config ${ep.configFile}`;
}

/** The error for an answer without the daemon's proof (its body is not read). */
function unprovenAnswer(ep: ControlEndpoint, status: number): ApiError["error"] {
  if (status === 401) {
    return {
      code: "unauthorized",
      message: `what answers on 127.0.0.1:${ep.port} did not accept this user's control token ` +
        `(${ep.tokenFile}): the daemon was restarted since it was read, or another program uses ` +
        `daemon.control_port`,
    };
  }
  return {
    code: "not_cmesh",
    message: `what answers on 127.0.0.1:${ep.port} did not prove it is this user's cmesh daemon ` +
      `(its answer has no valid ${PROOF_HEADER} header): no request body went to it and its answer ` +
      `was not read. Another program may be using daemon.control_port: stop it, or set another ` +
      `port in ${ep.configFile}`,
  };
}

/** A client for the loopback control API. */
export class ControlClient extends ControlCalls {
  #token: string | null;

  constructor(readonly endpoint: ControlEndpoint) {
    super();
    this.#token = endpoint.token;
  }

  /** Builds a client from a config file (port) and its state dir (token). */
  static async fromConfig(configFile: string): Promise<ControlClient> {
    const { config } = await loadConfig(configFile);
    const stateDir = stateDirFor(config);
    let token: string | null = null;
    try {
      token = await readControlToken(stateDir);
    } catch (e) {
      // A missing file is reported on the first call; a file others can read is refused now.
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return new ControlClient({
      port: config.daemon.control_port,
      token,
      tokenFile: controlTokenPath(stateDir),
      configFile,
    });
  }

  /** GET a control path. */
  get(path: string, signal?: AbortSignal): Promise<ControlResponse> {
    return this.#call("GET", path, undefined, signal);
  }

  /** POST JSON to a control path. */
  post(path: string, body: unknown, signal?: AbortSignal): Promise<ControlResponse> {
    return this.#call("POST", path, body, signal);
  }

  async #call(
    method: string,
    path: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<ControlResponse> {
    const ep = this.endpoint;
    this.#token ??= await this.#tokenOnDisk();
    if (this.#token === null) {
      return {
        ok: false,
        status: 0,
        error: {
          code: "no_token",
          message:
            `no control token at ${ep.tokenFile}: the daemon has never started with this state dir. ${
              daemonNotRunningMessage(ep)
            }`,
        },
      };
    }
    const sent = this.#token;
    const res = await this.#send(method, path, body, sent, signal);
    if (res.ok || res.status !== 401) return res;
    // The daemon writes a new token at every start: a client older than that start reads it.
    const now = await this.#tokenOnDisk();
    if (now === null || now === sent) return res;
    this.#token = now;
    return await this.#send(method, path, body, now, signal);
  }

  /** The token in the token file now, or null when there is none (yet). */
  async #tokenOnDisk(): Promise<string | null> {
    try {
      return await readControlToken(dirname(this.endpoint.tokenFile));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
  }

  async #send(
    method: string,
    path: string,
    body: unknown,
    token: string,
    signal?: AbortSignal,
  ): Promise<ControlResponse> {
    const ep = this.endpoint;
    const signed = signRequest(token, method, path);
    let res: Response;
    try {
      // A body (a prompt) is sealed to the token: only the daemon that holds it can read it.
      res = await fetch(`http://127.0.0.1:${ep.port}${path}`, {
        method,
        headers: {
          authorization: signed.header,
          ...(body === undefined ? {} : { "content-type": SEALED_TYPE }),
        },
        body: body === undefined ? undefined : sealBody(
          token,
          signed.nonce,
          method,
          path,
          new TextEncoder().encode(JSON.stringify(body)),
        ),
        signal,
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      return {
        ok: false,
        status: 0,
        error: { code: "daemon_not_running", message: daemonNotRunningMessage(ep) },
      };
    }
    // Nothing is read from an answer that does not prove the token (see control/proof.ts).
    if (!proofHolds(token, signed.nonce, res.headers.get(PROOF_HEADER))) {
      await res.body?.cancel().catch(() => {});
      return { ok: false, status: res.status, error: unprovenAnswer(ep, res.status) };
    }
    const bytes = await readBoundedBytes(res.body, MAX_CONTROL_ANSWER_BYTES).catch(() => null);
    if (bytes === null) {
      return {
        ok: false,
        status: res.status,
        error: {
          code: "bad_response",
          message: `the answer on 127.0.0.1:${ep.port} to ${path} was cut off or larger than ` +
            `${MAX_CONTROL_ANSWER_MIB} MiB: is the cmesh daemon what listens there?`,
        },
      };
    }
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(new TextDecoder().decode(bytes)) ?? {};
    } catch { /* not JSON: the status alone says what happened */ }
    if (res.ok) return { ok: true, status: res.status, body: json };
    const err =
      (json.error ?? { code: "internal", message: `HTTP ${res.status}` }) as ApiError["error"];
    return {
      ok: false,
      status: res.status,
      error: { ...err, ...(json.task ? { task: json.task } : {}) },
    };
  }
}
