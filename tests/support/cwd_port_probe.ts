/**
 * @module
 * Test support: runs inside a permission-narrowed Web Worker (read only on one root) and
 * resolves a cwd two ways: `resolveCwd` in the thread itself, and through the port to the
 * main thread (`src/worker/cwd_port.ts`), as the sandboxed cmesh worker does. Posts
 * `{direct, viaPort}`.
 *
 * @example
 * ```ts
 * const w = new Worker(new URL("./cwd_port_probe.ts", import.meta.url), {
 *   type: "module", deno: { permissions: { read: [root] } },
 * });
 * w.postMessage({ type: "probe", path: "/tmp/link-to-root" });
 * ```
 */
/// <reference lib="deno.worker" />
import {
  CwdPortClient,
  type CwdResolveRequest,
  isCwdResolveReply,
} from "../../src/worker/cwd_port.ts";
import { resolveCwd } from "../../src/inbound/cwd_resolve.ts";

const port = new CwdPortClient((m: CwdResolveRequest) => self.postMessage(m));

self.onmessage = async (e: MessageEvent<unknown>) => {
  const msg = e.data;
  if (isCwdResolveReply(msg)) return port.deliver(msg);
  const probe = msg as { type: "probe"; path: string };
  const [direct, viaPort] = await Promise.all([resolveCwd(probe.path), port.resolve(probe.path)]);
  self.postMessage({ type: "probed", direct, viaPort });
};
