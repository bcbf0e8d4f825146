/**
 * @module
 * Where the pinned real-Tailscale binaries are (built by `tests/tailnet/build_bins.sh`) and
 * whether the real-tailnet tests can run on this machine at all.
 *
 * The tests run when: Linux, root, `/dev/net/tun`, iproute2, openssl and curl are present,
 * and `tailscaled`, `tailscale` and `headscale` are in the bin dir. `CMESH_TAILNET=0` turns
 * them off; under `CI` they run only with `CMESH_TAILNET=1` (their own `.ci/run` stage), so
 * the general test run does not start a second tailnet next to the stage's.
 *
 * @example
 * ```ts
 * import { tailnetSkipReason } from "./bins.ts";
 * const why = await tailnetSkipReason();
 * if (why) console.log(`skipping: ${why}`);
 * ```
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Pinned versions, from `versions.env`. */
export interface TailnetVersions {
  tailscale: string;
  headscale: string;
}

/** Absolute paths of the three binaries. */
export interface TailnetBins {
  dir: string;
  tailscaled: string;
  tailscale: string;
  headscale: string;
  versions: TailnetVersions;
}

const HERE = dirname(fileURLToPath(import.meta.url));

/** Reads `versions.env` (`NAME=value` lines; `#` comments). */
export async function readVersions(): Promise<TailnetVersions> {
  const text = await Deno.readTextFile(join(HERE, "versions.env"));
  const vars = Object.fromEntries(
    text.split("\n").map((l) => /^([A-Z_]+)=(\S+)\s*$/.exec(l.trim())).filter((m) => m !== null)
      .map((m) => [m![1], m![2]]),
  );
  if (!vars.TAILSCALE_VERSION || !vars.HEADSCALE_VERSION) {
    throw new Error("tests/tailnet/versions.env must set TAILSCALE_VERSION and HEADSCALE_VERSION");
  }
  return { tailscale: vars.TAILSCALE_VERSION, headscale: vars.HEADSCALE_VERSION };
}

/** The bin dir `build_bins.sh` uses: `$CMESH_TAILNET_BIN`, else the per-version cache dir. */
export function binDir(v: TailnetVersions): string {
  const explicit = Deno.env.get("CMESH_TAILNET_BIN");
  if (explicit) return explicit;
  const cache = Deno.env.get("XDG_CACHE_HOME") || join(Deno.env.get("HOME") ?? "/root", ".cache");
  return join(cache, "cmesh-ci", `tailnet-${v.tailscale}-${v.headscale}`, "bin");
}

function isExecutable(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** The binaries, or null when any is missing. */
export async function findBins(): Promise<TailnetBins | null> {
  const versions = await readVersions();
  const dir = binDir(versions);
  const bins = {
    dir,
    tailscaled: join(dir, "tailscaled"),
    tailscale: join(dir, "tailscale"),
    headscale: join(dir, "headscale"),
    versions,
  };
  return [bins.tailscaled, bins.tailscale, bins.headscale].every(isExecutable) ? bins : null;
}

/** Why the real-tailnet tests cannot run here, or null when they can. */
export async function tailnetSkipReason(): Promise<string | null> {
  const flag = Deno.env.get("CMESH_TAILNET");
  if (flag === "0") return "turned off with CMESH_TAILNET=0";
  if (Deno.env.get("CI") && flag !== "1") {
    return "under CI these run in their own .ci/run stage (CMESH_TAILNET=1)";
  }
  if (Deno.build.os !== "linux") {
    return `they need Linux network namespaces (this is ${Deno.build.os})`;
  }
  let uid: number | null = null;
  try {
    uid = Deno.uid();
  } catch { /* no sys permission */ }
  if (uid !== 0) return `they need root for network namespaces and TUN devices (uid ${uid ?? "?"})`;
  for (const tool of ["/usr/sbin/ip", "/usr/bin/openssl", "/usr/bin/curl"]) {
    try {
      Deno.statSync(tool);
    } catch {
      return `${tool} is missing (apt-get install iproute2 openssl curl)`;
    }
  }
  // Deno's permission model guards /dev paths beyond --allow-read, so ask test(1).
  const tun = await new Deno.Command("/usr/bin/test", { args: ["-c", "/dev/net/tun"] }).output();
  if (!tun.success) return "/dev/net/tun is missing (kernel TUN mode needs it)";
  const versions = await readVersions();
  if (!(await findBins())) {
    return `tailscaled/tailscale ${versions.tailscale} and headscale ${versions.headscale} are ` +
      `not built in ${binDir(versions)}; run tests/tailnet/build_bins.sh (needs Go >= 1.26.6 ` +
      `and the Go module proxy), then deno test -P tests/tailnet/`;
  }
  return null;
}
