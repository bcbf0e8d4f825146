/**
 * @module
 * Sandboxes started ahead of their run ("warm"), so a run that comes later finds its namespaces
 * and mounts already made: bwrap's start (about 8 ms of a delegation on two cores) is then off
 * the path to the caller.
 *
 * A warm sandbox runs a launcher, our own script, and nothing else until its run: it makes a
 * FIFO in its control dir (and holds it open), writes the device and inode of each checked path
 * (the cwd) as seen inside, and waits for a line `go` on its stdin, a pipe only the worker
 * writes. {@link WarmStart.launch} takes it only when that still holds: the process lives, each
 * checked path names on the host the very directory bound inside (a directory swapped since is
 * refused), and the command can be written exactly. It then sends `go` and writes a script into
 * the FIFO that sets the run's environment and `exec`s the command in the launcher's place.
 * Anything else and the caller discards it and starts cold, as before. The launcher ends when
 * its stdin does: when it is discarded, and when the worker dies, however it dies.
 *
 * Which sandbox a run may take is decided by the caller: only one whose whole bwrap argv (the
 * decision: binds, network, flags) equals what the run would get now (the key, see `mod.ts`).
 *
 * @example
 * ```ts
 * import { WarmPool } from "./warm_pool.ts";
 * const pool = new WarmPool({ max: 4, idleMs: 60_000 });
 * const warm = pool.take("key of the run's sandbox");
 * if (warm && (await warm.launch(["/bin/echo", "hi"], { PATH: "/usr/bin" })).ok) {
 *   // supervise warm.child as if it had just been spawned with that command
 * } else await warm?.discard();
 * await pool.close();
 * ```
 */
import { waitAtMost } from "../../util/bounded_command.ts";
import { logger } from "../../util/log.ts";
import { RUN_TOKEN_ENV } from "../process_list.ts";
import { launchScript } from "./warm_launcher.ts";

const log = logger("sandbox");

/** What {@link WarmStart.start} needs. */
export interface WarmStartOptions {
  /** Which runs may take it (see `mod.ts`). */
  key: string;
  /** The run token the run that takes it uses (its runDir is named by it). */
  token: string;
  /** The run dir its sandbox binds (made by the caller); it holds the control dir. */
  runDir: string;
  /** The control dir (inside `runDir`, bound writable), as given to {@link warmLauncher}. */
  ctl: string;
  /** The whole argv: bwrap, its arguments, `--`, the launcher. */
  argv: string[];
  /** The paths given to the launcher, checked again at launch. */
  checks: string[];
}

/** Why a warm sandbox could not be taken, or that it was. */
export type WarmLaunch = { ok: true } | { ok: false; reason: string };

/** How long a discarded sandbox has to end by itself before bwrap is killed. */
const END_WAIT_MS = 2000;

/** The line that hands a launcher its command. */
const GO = new TextEncoder().encode("go\n");

/** How long {@link WarmStart.launch} waits for a launcher that is not ready yet. */
const READY_WAIT_MS = 200;

/** A launcher not ready after this (a hung mount?) is never taken. */
const READY_GIVE_UP_MS = 5000;

/** What a ready launcher left: its report, and our end of its FIFO (opened ahead). */
interface Ready {
  seen: string[];
  fifo: Deno.FsFile;
}

/** One sandbox started ahead, waiting for its command (see the module doc). */
export class WarmStart {
  readonly key: string;
  readonly token: string;
  readonly runDir: string;
  /** bwrap, its environment only its token; stdout and stderr piped, unread until taken. */
  readonly child: Deno.ChildProcess;
  /** Resolves when the process has ended. */
  readonly ended: Promise<void>;
  readonly #ctl: string;
  readonly #checks: string[];
  /**
   * Off the path to any run: the launcher's report, and our end of its FIFO, opened once the
   * report is there. Null: it failed.
   */
  readonly #ready: Promise<Ready | null>;
  /** The launcher's report (see #readReport): once it is there, bwrap's start is complete. */
  readonly #report: Promise<string[] | null>;
  /** Our open of the FIFO is under way. */
  #opening = false;
  #done = false;
  /** Taken: by a launch (which may still fail) or by discard. */
  #taken = false;
  #discarded = false;
  #ran = false;

  private constructor(opts: WarmStartOptions, child: Deno.ChildProcess) {
    this.key = opts.key;
    this.token = opts.token;
    this.runDir = opts.runDir;
    this.child = child;
    this.#ctl = opts.ctl;
    this.#checks = opts.checks;
    this.ended = child.status.then(() => {
      this.#done = true;
    }, () => {
      this.#done = true;
    });
    this.#report = this.#readReport();
    this.#ready = this.#openAhead();
  }

  /**
   * Starts one (the run dir must exist; the control dir is made here). Null when it cannot be
   * spawned (the caller's cold start will say why).
   */
  static start(opts: WarmStartOptions): WarmStart | null {
    try {
      Deno.mkdirSync(opts.ctl, { recursive: true, mode: 0o700 });
      const child = new Deno.Command(opts.argv[0], {
        args: opts.argv.slice(1),
        // Its token marks it, as a run's processes are marked: a restart after a crash finds it.
        env: { [RUN_TOKEN_ENV]: opts.token },
        clearEnv: true,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      return new WarmStart(opts, child);
    } catch (e) {
      log.debug("warm sandbox not started: {error}", { error: (e as Error).message });
      return null;
    }
  }

  /** True once it was handed its command (its process is then the command's). */
  get launched(): boolean {
    return this.#ran;
  }

  /** False once its process has ended or it was launched or discarded. */
  get waiting(): boolean {
    return !this.#done && !this.#taken;
  }

  /**
   * Hands `command` (argv inside the sandbox) and exactly `env` to the launcher, when the checks
   * hold (see the module doc). On `{ok: false}` nothing was run: {@link discard} it.
   */
  async launch(
    command: readonly string[],
    env: Readonly<Record<string, string>>,
  ): Promise<WarmLaunch> {
    if (!this.waiting) return { ok: false, reason: "the warm sandbox has ended" };
    const script = launchScript(command, env);
    if (script === null) return { ok: false, reason: "the command cannot be passed exactly" };
    this.#taken = true;
    // One started a moment ago may still be on its way: still sooner than a cold start.
    const ready = await waitAtMost(this.#ready, READY_WAIT_MS) ? await this.#ready : null;
    if (ready === null) return { ok: false, reason: "the warm sandbox is not ready" };
    const now = await Promise.all(this.#checks.map((p) => Deno.stat(p).catch(() => null)));
    for (const [i, st] of now.entries()) {
      if (st === null || `${st.dev}:${st.ino}` !== ready.seen[i]) {
        const path = this.#checks[i];
        return { ok: false, reason: `${path} is not the directory the warm sandbox bound` };
      }
    }
    if (this.#done) return { ok: false, reason: "the warm sandbox has ended" };
    try {
      // `go` on its stdin (the rest of which is the command's), then the script on the FIFO.
      const stdin = this.child.stdin.getWriter();
      try {
        await stdin.write(GO);
      } finally {
        stdin.releaseLock();
      }
      const bytes = new TextEncoder().encode(script);
      for (let at = 0; at < bytes.length;) at += await ready.fifo.write(bytes.subarray(at));
    } catch (e) {
      // A cut script is a syntax error to the launcher: nothing ran.
      return { ok: false, reason: `cannot hand the command over: ${(e as Error).message}` };
    }
    ready.fifo.close();
    this.#ran = true;
    return { ok: true };
  }

  async #openAhead(): Promise<Ready | null> {
    const seen = await this.#report;
    if (seen === null || this.#discarded || this.#done) return null;
    // The launcher holds the FIFO open before it reports, so this open does not wait for it
    // (unless it died since: see #unstick).
    this.#opening = true;
    const fifo = await Deno.open(`${this.#ctl}/go`, { write: true }).catch(() => null);
    this.#opening = false;
    if (fifo !== null && !this.#discarded) return { seen, fifo };
    fifo?.close();
    return null;
  }

  /**
   * The launcher's report, once written (after it made and opened the FIFO), or null when the
   * process ended or gave none in time.
   */
  async #readReport(): Promise<string[] | null> {
    for (let wait = 1, waited = 0; !this.#done; waited += wait, wait = Math.min(wait * 2, 50)) {
      const text = await Deno.readTextFile(`${this.#ctl}/ready`).catch(() => "");
      const seen = text.endsWith("\n") ? text.slice(0, -1).split("\n") : [];
      if (seen.length === this.#checks.length) return seen;
      if (waited > READY_GIVE_UP_MS) return null;
      await new Promise((r) => setTimeout(r, wait));
    }
    return null;
  }

  /**
   * Our FIFO open waits for a reader; when the launcher ended after its report, it would wait
   * forever: opening the other end ourselves lets it return.
   */
  async #unstick(): Promise<void> {
    if (!this.#opening) return;
    const reader = Deno.open(`${this.#ctl}/go`, { read: true });
    if (await waitAtMost(reader, 1000)) (await reader.catch(() => null))?.close();
  }

  /**
   * Ends it (bwrap and with it the namespace) and removes its run dir, unless `keepRunDir` (a
   * cold start of the same run uses it). Also the clean-up after a launched process ended.
   * Never throws.
   */
  async discard(opts: { keepRunDir?: boolean } = {}): Promise<void> {
    this.#taken = true;
    this.#discarded = true;
    // Its stdin closed, a waiting launcher ends by itself, and bwrap with it. bwrap is killed only
    // when that does not happen in time: killed while it still sets the sandbox up, it would leave
    // the processes inside waiting forever (they set their parent-death signal only later).
    await Promise.allSettled([
      this.child.stdin.close(),
      this.child.stdout.cancel(),
      this.child.stderr.cancel(),
    ]);
    if (!await waitAtMost(this.ended, END_WAIT_MS)) {
      try {
        this.child.kill("SIGKILL");
      } catch { /* already ended */ }
      await waitAtMost(this.ended, 5000);
    }
    await this.#unstick();
    // A report awaited now ends at once: the process has ended or the loop sees the discard.
    if (!this.#ran) {
      const ready = await this.#ready;
      try {
        ready?.fifo.close();
      } catch { /* closed */ }
    }
    if (!opts.keepRunDir) await Deno.remove(this.runDir, { recursive: true }).catch(() => {});
  }
}
