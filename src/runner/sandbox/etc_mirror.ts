/**
 * @module
 * The `/etc` a bwrap sandbox shows, as one bind instead of one per entry. bwrap reads the whole
 * mount table after every bind it makes, so each of the twenty-odd `/etc` entries a runner needs
 * cost a run's start about 50 µs here, and more on a host with many mounts. The worker keeps a
 * mirror directory (in its state dir) holding copies of the allowlisted `/etc` files; a sandbox
 * binds it read-only at `/etc`, and binds the allowlisted directories (`/etc/ca-certificates`,
 * ...) on top of the empty mount points it holds for them. An entry may lie deeper
 * (`/etc/ssl/certs`): the directories above it in the mirror hold only what is listed.
 *
 * The mirror is brought up to date at the moment of use, at every run's start: each entry is
 * stat'ed (through symlinks, as a bind would be) and a file whose identity, size or times changed
 * is copied again and renamed into place, so a sandbox never sees a half-written file and a
 * running one sees the host's change as it would through a bind of the directory. Anything that
 * is not a plain file of a sensible size (a directory, a device, a huge hosts file) is bound as
 * before. A mirror that cannot be kept (the state dir full, say) gives `null`: the caller binds
 * every entry, as without one.
 *
 * @example
 * ```ts
 * import { EtcMirror } from "./etc_mirror.ts";
 * const mirror = new EtcMirror("/var/lib/cmesh/sandbox-etc", ["/etc/passwd", "/etc/ssl/certs"]);
 * const view = mirror.view();
 * // { dir: "/var/lib/cmesh/sandbox-etc", binds: ["/etc/ssl/certs"] }: bwrap --ro-bind <dir> /etc
 * //   --ro-bind-try /etc/ssl/certs /etc/ssl/certs
 * ```
 */
import { basename, dirname, join } from "node:path";
import { logger } from "../../util/log.ts";

const log = logger("sandbox");

/** How one sandbox start shows `/etc`: the mirror at `/etc`, then `binds` over it. */
export interface EtcView {
  /** Bound read-only at `/etc`. */
  dir: string;
  /** Host paths bound read-only at their own path (over mount points in `dir`). */
  binds: string[];
}

/** Files larger than this are bound rather than copied (a blocklist-sized `/etc/hosts`). */
export const ETC_MIRROR_MAX_FILE_BYTES = 4 * 1024 * 1024;

/**
 * A file changed less than this long ago is copied again at the next refresh, whatever its
 * signature says: a rewrite of the same size in the same clock tick as the copy leaves device,
 * inode, size and times as they were (git's "racy" files; it re-reads them too).
 */
export const ETC_MIRROR_RACY_MS = 2000;

type Kind = "copy" | "dir-mount" | "file-mount";

/**
 * A directory mirroring the allowlisted `/etc` entries for bwrap sandboxes. Synchronous: it runs
 * on a run's critical path, where a trip through the event loop per entry would cost more than
 * the binds it saves.
 *
 * @example
 * ```ts
 * const mirror = new EtcMirror("/tmp/etc-mirror", ["/etc/passwd"]);
 * mirror.view()?.binds; // []: /etc/passwd is copied into /tmp/etc-mirror
 * ```
 */
export class EtcMirror {
  readonly dir: string;
  readonly #root: string;
  readonly #entries: readonly string[];
  readonly #maxFileBytes: number;
  readonly #racyMs: number;
  /** Path below the root → what the mirror holds for it (and the host file's signature). */
  #held = new Map<string, { kind: Kind; signature: string | null }>();
  #made = false;
  #failing = false;

  /**
   * `entries` are host paths below `root` (`/etc`; another directory in tests), none below
   * another: `/etc/ssl/certs` may be shown without the rest of `/etc/ssl`.
   */
  constructor(
    dir: string,
    entries: readonly string[],
    opts: { root?: string; maxFileBytes?: number; racyMs?: number } = {},
  ) {
    const root = opts.root ?? "/etc";
    for (const p of entries) {
      if (!p.startsWith(root + "/") || p.split("/").includes("..")) {
        throw new Error(`${p} is not below ${root}`);
      }
      if (entries.some((q) => p.startsWith(q + "/"))) {
        throw new Error(`${p} is below another entry`);
      }
    }
    this.dir = dir;
    this.#root = root;
    this.#entries = entries;
    this.#maxFileBytes = opts.maxFileBytes ?? ETC_MIRROR_MAX_FILE_BYTES;
    this.#racyMs = opts.racyMs ?? ETC_MIRROR_RACY_MS;
  }

  /**
   * Brings the mirror up to date with the host and says how a sandbox starting now shows
   * `/etc`; null when the mirror cannot be kept (then bind each entry).
   */
  view(): EtcView | null {
    try {
      if (!this.#made) this.#make();
      const binds: string[] = [];
      for (const path of this.#entries) {
        const kind = this.#refresh(path);
        if (kind === "dir-mount" || kind === "file-mount") binds.push(path);
      }
      if (this.#failing) log.info("the /etc mirror {dir} is kept again", { dir: this.dir });
      this.#failing = false;
      return { dir: this.dir, binds };
    } catch (e) {
      // Said once when it starts failing, and once when it works again.
      if (!this.#failing) {
        log.warn("the /etc mirror {dir} cannot be kept ({reason}): runs bind each entry", {
          dir: this.dir,
          reason: (e as Error).message,
        });
      }
      this.#failing = true;
      this.#made = false;
      return null;
    }
  }

  /** A fresh, empty mirror: whatever an earlier daemon left is not trusted. */
  #make(): void {
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    this.#held.clear();
    Deno.mkdirSync(this.dir, { mode: 0o755 });
    Deno.chmodSync(this.dir, 0o755); // readable inside the sandbox whatever the umask
    this.#made = true;
  }

  /** Updates one entry; returns what the mirror now holds for it (null: not shown). */
  #refresh(path: string): Kind | null {
    const name = path.slice(this.#root.length + 1);
    const target = join(this.dir, name);
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch (e) {
      // Anything but "gone" (a permission, say) drops the mirror: each entry is bound instead.
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      // Gone (or a dangling link): not shown, as `--ro-bind-try` skips it.
      this.#drop(name, target);
      return null;
    }
    const held = this.#held.get(name);
    const signature = [info.dev, info.ino, info.size, info.mtime?.getTime(), info.ctime?.getTime()]
      .join(":");
    if (held?.kind === "copy" && held.signature === signature) return "copy";
    const bytes = info.isFile && info.size <= this.#maxFileBytes ? readable(path) : null;
    if (bytes !== null) {
      const temp = join(dirname(target), `.${basename(target)}.new`);
      this.#parentOf(target);
      Deno.writeFileSync(temp, bytes, { mode: 0o644 });
      Deno.chmodSync(temp, 0o644);
      if (held !== undefined && held.kind === "dir-mount") this.#drop(name, target);
      Deno.renameSync(temp, target);
      // A file changed just now may change again unseen (ETC_MIRROR_RACY_MS): not trusted yet.
      const changedAt = Math.max(info.mtime?.getTime() ?? 0, info.ctime?.getTime() ?? 0);
      const recent = Date.now() - changedAt < this.#racyMs;
      this.#held.set(name, { kind: "copy", signature: recent ? null : signature });
      return "copy";
    }
    const kind: Kind = info.isDirectory ? "dir-mount" : "file-mount";
    if (held?.kind !== kind) {
      this.#drop(name, target);
      this.#parentOf(target);
      if (kind === "dir-mount") Deno.mkdirSync(target, { mode: 0o755 });
      else Deno.writeFileSync(target, new Uint8Array(), { mode: 0o644 });
      this.#held.set(name, { kind, signature: null });
    }
    return kind;
  }

  /** The directories above a nested entry (`ssl` for `ssl/certs`), made as they are needed. */
  #parentOf(target: string): void {
    const parent = dirname(target);
    if (parent === this.dir) return;
    Deno.mkdirSync(parent, { recursive: true, mode: 0o755 });
    Deno.chmodSync(parent, 0o755);
  }

  #drop(name: string, target: string): void {
    if (!this.#held.has(name)) return;
    Deno.removeSync(target, { recursive: true });
    this.#held.delete(name);
  }
}

/** The file's bytes; null when this user may not read it (then it is bound, as before). */
function readable(path: string): Uint8Array | null {
  try {
    return Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.PermissionDenied) return null;
    throw e;
  }
}
