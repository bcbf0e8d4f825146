/**
 * @module
 * One daemon per state dir: an exclusive advisory lock on `daemon.lock`, released by the OS
 * when the process dies (so `kill -9` never leaves a stale lock).
 */
import { CmeshError } from "../protocol/errors.ts";
import { join } from "node:path";

/** Another daemon holds the state dir. */
export class DaemonLockedError extends CmeshError<"daemon_locked"> {
  constructor(message: string) {
    super("daemon_locked", message);
  }
}

/** A held lock. */
export interface DaemonLock {
  release(): void;
}

/** Takes the lock or throws a message naming the holder's pid. */
export async function acquireDaemonLock(stateDir: string): Promise<DaemonLock> {
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, "daemon.lock");
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  if (!(await file.tryLock(true))) {
    const holder = (await Deno.readTextFile(path).catch(() => "")).trim();
    file.close();
    throw new DaemonLockedError(
      `another cmesh daemon is already running with state dir ${stateDir}${
        holder ? ` (pid ${holder})` : ""
      }; stop it first or use another CMESH_HOME`,
    );
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  return {
    release() {
      try {
        file.unlockSync();
        file.close();
      } catch { /* already released */ }
    },
  };
}
