/**
 * @module
 * Tests of bounded helper commands: output, exit code, the stdout cap and the timeout.
 */
import assert from "node:assert/strict";
import { runBounded } from "../../src/util/bounded_command.ts";

const sh = (script: string, extra: Partial<Parameters<typeof runBounded>[1]> = {}) => ({
  args: ["-c", script],
  env: { PATH: "/usr/bin:/bin" },
  maxStdoutBytes: 1024,
  timeoutMs: 10_000,
  ...extra,
});

Deno.test("runBounded: output, exit code, the stdout cap and the timeout", async () => {
  const ok = await runBounded("/bin/sh", sh("echo hi; echo oops >&2; exit 3"));
  assert.equal(new TextDecoder().decode(ok.stdout), "hi\n");
  assert.equal(ok.code, 3);
  assert.equal(ok.stderr, "oops\n");
  const big = await runBounded("/bin/sh", sh("yes", { maxStdoutBytes: 100 }));
  assert.equal(big.stdoutTruncated, true);
  assert.equal(big.stdout.byteLength, 100);
  const slow = await runBounded("/bin/sh", sh("sleep 30", { timeoutMs: 50 }));
  assert.equal(slow.timedOut, true);
  assert.equal(slow.signal, "SIGKILL");
});
