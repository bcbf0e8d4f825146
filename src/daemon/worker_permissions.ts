/**
 * @module
 * The exact Deno permissions of the sandboxed worker, computed from the config and what the
 * daemon resolved at start-up. Pure, so a test can pin them down.
 *
 * @example
 * ```ts
 * const perms = workerPermissions({
 *   bind: ["100.64.0.2"], port: 7433, stateDir: "/var/lib/cmesh", roots: ["/srv/app"],
 *   runBinaries: ["/usr/bin/claude"], tools: { gitBin: "/usr/bin/git", killBin: "/usr/bin/kill", psBin: "/usr/bin/ps" },
 * });
 * perms.net; // ["100.64.0.2:7433"]
 * ```
 */
import type { RunTools } from "../runner/run.ts";

/** Inputs of {@link workerPermissions}. */
export interface WorkerPermissionInputs {
  bind: string[];
  port: number;
  stateDir: string;
  /** Realpaths of every allowed cwd root (missing roots left out). */
  roots: string[];
  runBinaries: string[];
  tools: RunTools;
  /** Local-only mode: `cat`, which reads the kernel's TCP table (who owns a connection). */
  catBin?: string;
  /** The sandbox binary runs are wrapped in (bwrap, sandbox-exec), when there is one. */
  sandboxBin?: string | null;
  /**
   * bwrap: the allowlisted `/etc` entries runs see, read (only) to keep the worker's mirror of
   * them (`runner/sandbox/etc_mirror.ts`).
   */
  etcEntries?: string[];
  /**
   * Egress of `model` runs (`egressInit`): the model destinations (`host:port`) the proxy
   * connects to, and its slot sockets (`unix:<path>`).
   */
  egressNet?: string[];
}

/** Deno permission descriptor for `new Worker(..., {deno: {permissions}})`. */
export interface WorkerPermissions {
  net: string[];
  read: string[];
  write: string[];
  run: string[];
  env: false;
  sys: false;
  ffi: false;
  import: false;
}

const uniq = (xs: string[]) => [...new Set(xs)];

/**
 * Narrow permissions: own listener(s); state dir; cwd roots; runner binaries; the sandbox binary
 * (bwrap) that wraps every run, and the `/etc` entries its runs see (read). No LocalAPI: callers
 * are identified by the main thread (`worker/identity_port.ts`), so a bug in a request handler
 * cannot talk to tailscaled.
 */
export function workerPermissions(i: WorkerPermissionInputs): WorkerPermissions {
  const net = i.bind.map((h) => (h.includes(":") ? `[${h}]:${i.port}` : `${h}:${i.port}`));
  const read = [i.stateDir, ...i.roots, ...i.runBinaries, ...(i.etcEntries ?? [])];
  const write = [i.stateDir];
  const tools = [
    i.tools.killBin,
    i.tools.psBin,
    ...(i.tools.gitBin ? [i.tools.gitBin] : []),
    ...(i.sandboxBin ? [i.sandboxBin] : []),
  ];
  if (i.catBin) tools.push(i.catBin);
  net.push(...(i.egressNet ?? []));
  return {
    net: uniq(net),
    read: uniq([...read, ...tools]),
    write: uniq(write),
    run: uniq([...i.runBinaries, ...tools]),
    env: false,
    sys: false,
    ffi: false,
    import: false,
  };
}
