/**
 * @module
 * Helpers for the store tests: throw-away database files and sample rows.
 */
import { join } from "node:path";
import { openStore, type Store, type StoreOptions } from "../../src/store/db.ts";
import type { NewTask } from "../../src/store/tasks.ts";
import { requestHash } from "../../src/store/hash.ts";

/** A fresh temp directory and a database path inside it (the file does not exist yet). */
export function tempDbPath(name = "cmesh.db"): { dir: string; path: string; cleanup(): void } {
  const dir = Deno.makeTempDirSync({ prefix: "cmesh-store-test-" });
  return {
    dir,
    path: join(dir, name),
    cleanup: () => Deno.removeSync(dir, { recursive: true }),
  };
}

/** Opens a store on a new temp file; closes and removes it on dispose. */
export function tempStore(opts: StoreOptions = {}): Store & { dir: string } {
  const tmp = tempDbPath();
  const store = openStore(tmp.path, opts);
  const close = store.close.bind(store);
  return Object.assign(store, {
    dir: tmp.dir,
    close() {
      close();
      try {
        tmp.cleanup();
      } catch { /* already removed */ }
    },
    [Symbol.dispose]() {
      this.close();
    },
  });
}

/** A deterministic clock that advances one second per call. */
export function steppingClock(start = "2026-01-01T00:00:00.000Z"): () => Date {
  let t = Date.parse(start);
  return () => {
    const d = new Date(t);
    t += 1000;
    return d;
  };
}

/** A valid inbound task for `id`, from requester `key`. */
export function sampleTask(id: string, overrides: Partial<NewTask> = {}): NewTask {
  const request = { id, prompt: `do ${id}`, cwd: "/srv/app", profile: "query" };
  return {
    direction: "inbound",
    id,
    peer: "laptop",
    requester: { node: "laptop", stable_id: "nLAPTOP", login: "ann@example.com", tags: [] },
    requester_stable_id: "nLAPTOP",
    profile: "query",
    runner: "claude",
    cwd: "/srv/app",
    prompt: request.prompt,
    timeout_s: 600,
    request_hash: requestHash(request),
    ...overrides,
  };
}
