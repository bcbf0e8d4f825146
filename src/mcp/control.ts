/**
 * @module
 * The MCP server's way to the local daemon: the typed control calls (`control/calls.ts`) over a
 * {@link ControlClient} built on the first tool call, not at start-up, so `initialize` is
 * answered before any config is read. The client module itself is imported lazily too (it
 * pulls in the TOML parser and the config schema).
 *
 * A failure before any request reached the daemon (not running, no token yet, bad config)
 * drops the cached client, so the next call picks up a daemon started since, or a fixed
 * config, without restarting `cmesh mcp`.
 *
 * @example
 * ```ts
 * import { LazyControl } from "./control.ts";
 * const control = new LazyControl("/home/ann/.config/cmesh/config.toml");
 * const res = await control.peers();
 * if (!res.ok) console.error(res.error.message);
 * ```
 */
import { ControlCalls, type ControlResponse } from "../control/calls.ts";
import type { ControlClient } from "../control/client.ts";

/** The typed control calls over a client that reads the config on first use. */
export class LazyControl extends ControlCalls {
  #client: Promise<ControlClient> | null = null;

  /** @param configFile the config.toml whose port and state dir locate the daemon */
  constructor(readonly configFile: string) {
    super();
  }

  /** GET a control API path. */
  get(path: string, signal?: AbortSignal): Promise<ControlResponse> {
    return this.#call((c) => c.get(path, signal));
  }

  /** POST JSON to a control API path. */
  post(path: string, body: unknown, signal?: AbortSignal): Promise<ControlResponse> {
    return this.#call((c) => c.post(path, body, signal));
  }

  async #call(send: (c: ControlClient) => Promise<ControlResponse>): Promise<ControlResponse> {
    for (let attempt = 0;; attempt++) {
      let client: ControlClient;
      try {
        client = await (this.#client ??= this.#build());
      } catch (e) {
        this.#client = null;
        return {
          ok: false,
          status: 0,
          error: { code: "invalid_config", message: configMessage(e, this.configFile) },
        };
      }
      const res = await send(client);
      // Status 0: nothing reached the daemon, so retrying with fresh config is safe.
      if (res.ok || res.status !== 0) return res;
      this.#client = null;
      if (attempt > 0) return res;
    }
  }

  async #build(): Promise<ControlClient> {
    const { ControlClient } = await import("../control/client.ts");
    return await ControlClient.fromConfig(this.configFile);
  }
}

function configMessage(e: unknown, file: string): string {
  const msg = e instanceof Error ? e.message : String(e);
  return `cannot use the cmesh config ${file}: ${msg}. Check it with 'cmesh config validate' ` +
    `(or point cmesh mcp at another file with --config or CMESH_CONFIG)`;
}
