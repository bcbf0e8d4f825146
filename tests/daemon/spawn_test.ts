/**
 * @module
 * `spawnDaemon` (the demo's and the tests' way to start a daemon) gives the child
 * {@link DAEMON_ENV}, unless the caller's `env` or this process's environment sets the variable.
 * A shell stands in for the daemon: its ready line reports the variable it got.
 */
import assert from "node:assert/strict";
import { spawnDaemon } from "../../src/daemon/spawn.ts";
import { DAEMON_ENV } from "../../src/util/deno_permissions.ts";

const READY_WITH_ARENAS =
  `printf '{"ready":true,"node":"%s","control":"127.0.0.1:1","worker":[]}\\n' "$MALLOC_ARENA_MAX"; exec sleep 30`;

async function arenasSeen(env: Record<string, string>): Promise<string> {
  const d = await spawnDaemon({ bin: "/bin/sh", args: ["-c", READY_WITH_ARENAS], env });
  try {
    return d.ready.node;
  } finally {
    await d.stop(true);
  }
}

/** Runs `fn` with MALLOC_ARENA_MAX set to `value` (or unset) in this process, then restores it. */
async function withOwnArenas<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const before = Deno.env.get("MALLOC_ARENA_MAX");
  if (value === undefined) Deno.env.delete("MALLOC_ARENA_MAX");
  else Deno.env.set("MALLOC_ARENA_MAX", value);
  try {
    return await fn();
  } finally {
    if (before === undefined) Deno.env.delete("MALLOC_ARENA_MAX");
    else Deno.env.set("MALLOC_ARENA_MAX", before);
  }
}

Deno.test("spawnDaemon: the child gets DAEMON_ENV's allocator setting", async () => {
  assert.equal(DAEMON_ENV.MALLOC_ARENA_MAX, "2");
  const seen = await withOwnArenas(undefined, () => arenasSeen({ PATH: "/usr/bin:/bin" }));
  assert.equal(seen, "2");
});

Deno.test("spawnDaemon: the caller's environment wins over DAEMON_ENV", async () => {
  assert.equal(await arenasSeen({ PATH: "/usr/bin:/bin", MALLOC_ARENA_MAX: "4" }), "4");
});

Deno.test("spawnDaemon: a value in this process's own environment is kept", async () => {
  const seen = await withOwnArenas("3", () => arenasSeen({ PATH: "/usr/bin:/bin" }));
  assert.equal(seen, "3");
});
