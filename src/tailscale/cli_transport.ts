/**
 * @module
 * The `tailscale` CLI as a LocalAPI transport: `tailscale whois --json <ip:port>` and
 * `tailscale status --json`, whose stdout is the very JSON the LocalAPI answers (the CLI
 * encodes `apitype.WhoIsResponse` and `ipnstate.Status` as they come). This is how a Windows
 * worker identifies callers: tailscaled listens on a named pipe there, and Deno opens named
 * pipes only through `node:net` with all permissions granted (its `check_special_file` accepts
 * nothing narrower), which the daemon's narrowed permission set never has. It works the same on
 * Linux and macOS, where the tests run it against a real tailscaled and a fake executable.
 *
 * Fail-closed rules, the same as the socket transports: a non-zero exit, a timeout, output over
 * the body limit, or a spawn failure is an error (never an identity); "peer not found" (the
 * CLI's words for LocalAPI 404) becomes a 404 answer, so an unknown caller is refused as
 * `unknown_peer`, not as an outage. Each call is one bounded process: scrubbed environment,
 * stdin closed, killed at the deadline.
 *
 * @example
 * ```ts
 * import { CliTransport } from "./cli_transport.ts";
 * const t = new CliTransport({ binary: "C:\\Program Files\\Tailscale\\tailscale.exe" });
 * const res = await t.get("/localapi/v0/whois?addr=100.64.0.2%3A41641", { timeoutMs: 3000 });
 * console.log(res.status, new TextDecoder().decode(res.body));
 * ```
 */
import type { Http1Response } from "./http1.ts";
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_TIMEOUT_MS,
  LocalApiBadResponse,
  type LocalApiRequestOptions,
  LocalApiUnavailable,
} from "./endpoint.ts";
import {
  type BoundedRunOptions,
  type BoundedRunResult,
  runBounded,
} from "../util/bounded_command.ts";

/** Where the Windows installer of Tailscale puts its CLI. */
export const WINDOWS_TAILSCALE_CLI = "C:\\Program Files\\Tailscale\\tailscale.exe";

/** How to run the CLI. */
export interface CliTransportOptions {
  /** Absolute path of the `tailscale` executable. */
  binary: string;
  /** Passed as `--socket=<path>` (a tailscaled other than the default, e.g. in tests). */
  socket?: string;
  /** Environment of the CLI (default: only PATH and, on Windows, SystemRoot from the daemon's). */
  env?: Record<string, string>;
  /** Runs one bounded command (tests replace it; default {@link runBounded}). */
  run?: (bin: string, opts: BoundedRunOptions) => Promise<BoundedRunResult>;
}

/** The CLI arguments that answer a LocalAPI target, or null when the CLI has no equivalent. */
export function cliArgsFor(target: string): string[] | null {
  const url = new URL(target, "http://local-tailscaled.sock");
  if (url.pathname === "/localapi/v0/status") {
    const peers = url.searchParams.get("peers");
    return peers === "false" ? ["status", "--json", "--peers=false"] : ["status", "--json"];
  }
  if (url.pathname === "/localapi/v0/whois") {
    const addr = url.searchParams.get("addr");
    // Only an address reaches the CLI: never something it could read as a flag.
    if (addr === null || !/^[0-9A-Fa-f:.[\]]+$/.test(addr)) return null;
    return ["whois", "--json", addr];
  }
  return null;
}

/** The CLI's wording for LocalAPI 404 on whois (`local.ErrPeerNotFound`). */
const PEER_NOT_FOUND = /\bpeer not found\b|\bno match for IP/i;

/** A {@link LocalApiTransport}-compatible transport that runs the `tailscale` CLI per request. */
export class CliTransport {
  readonly #opts: CliTransportOptions;
  constructor(opts: CliTransportOptions) {
    this.#opts = opts;
  }

  /** For logs and `cmesh doctor`. */
  describe(): string {
    return `tailscale CLI ${this.#opts.binary}${
      this.#opts.socket ? ` --socket=${this.#opts.socket}` : ""
    }`;
  }

  /**
   * Runs the CLI for `target` and returns its JSON as a 200 answer (404 for an unknown peer).
   *
   * @throws {LocalApiUnavailable} the CLI could not be started, failed, or ran past the deadline
   * @throws {LocalApiBadResponse} its output was larger than `maxBodyBytes`
   */
  async get(target: string, opts: LocalApiRequestOptions = {}): Promise<Http1Response> {
    const args = cliArgsFor(target);
    if (args === null) {
      throw new LocalApiUnavailable(
        `${target} is not available through the tailscale CLI transport`,
      );
    }
    if (opts.signal?.aborted) throw new LocalApiUnavailable("request aborted");
    const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const run = this.#opts.run ?? runBounded;
    const argv = [...(this.#opts.socket ? [`--socket=${this.#opts.socket}`] : []), ...args];
    let r: BoundedRunResult;
    try {
      r = await run(this.#opts.binary, {
        args: argv,
        env: this.#opts.env ?? cliEnv(),
        maxStdoutBytes: maxBodyBytes + 1,
        maxStderrBytes: 2048,
        timeoutMs,
      });
    } catch (e) {
      throw new LocalApiUnavailable(
        `cannot run ${this.#opts.binary}: ${(e as Error).message}; is Tailscale installed? ` +
          `(set tailscale.cli_path in config.toml)`,
      );
    }
    const what = `${this.describe()} ${args.slice(0, 1).join(" ")}`;
    if (r.timedOut) {
      throw new LocalApiUnavailable(`${what} did not answer within ${timeoutMs} ms`, "exchange");
    }
    if (r.stdoutTruncated || r.stdout.byteLength > maxBodyBytes) {
      throw new LocalApiBadResponse(`${what} printed more than ${maxBodyBytes} bytes`);
    }
    const stderr = r.stderr.trim().slice(-300);
    if (r.code !== 0) {
      if (args[0] === "whois" && PEER_NOT_FOUND.test(stderr)) {
        return answer(404, new TextEncoder().encode(`${stderr}\n`));
      }
      throw new LocalApiUnavailable(
        `${what} failed (${r.code === null ? `signal ${r.signal}` : `exit ${r.code}`})${
          stderr ? `: ${stderr}` : ""
        }; is tailscaled running?`,
        "exchange",
      );
    }
    return answer(200, r.stdout);
  }
}

function answer(status: number, body: Uint8Array): Http1Response {
  return {
    status,
    statusText: status === 200 ? "OK" : "Not Found",
    headers: new Headers({ "content-type": "application/json" }),
    body,
  };
}

/**
 * The little environment the CLI needs (where Windows keeps its system DLLs), nothing else.
 * Empty where env access is not granted (the daemon's narrowed worker thread).
 */
function cliEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "SystemRoot", "WINDIR"]) {
    try {
      const v = Deno.env.get(name);
      if (v !== undefined) env[name] = v;
    } catch { /* no env permission: run with an empty environment */ }
  }
  return env;
}
