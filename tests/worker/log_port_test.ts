/**
 * @module
 * The worker thread's log records: filtered by level in the thread, posted in a shape the main
 * thread checks, written there through its own sink; a record that cannot be cloned still
 * arrives, its properties as text.
 */
import assert from "node:assert/strict";
import {
  boundedThreadLog,
  isThreadLog,
  MAX_THREAD_LOG_CHARS,
  type ThreadLog,
  threadLogSink,
} from "../../src/worker/log_port.ts";
import { emitLog, logger, type LogLevelName, setLogSink } from "../../src/util/log.ts";

Deno.test("threadLogSink: records below the level stay in the thread; the rest are posted", () => {
  const posted: ThreadLog[] = [];
  const sink = threadLogSink("warning", (m) => posted.push(m));
  sink("debug", ["cmesh", "worker"], "d", {});
  sink("info", ["cmesh", "worker"], "i", {});
  sink("warning", ["cmesh", "worker"], "w {x}", { x: 1 });
  sink("error", ["cmesh", "scheduler"], "e", {});
  assert.deepEqual(posted, [
    {
      type: "log",
      level: "warning",
      category: ["cmesh", "worker"],
      message: "w {x}",
      props: { x: 1 },
    },
    { type: "log", level: "error", category: ["cmesh", "scheduler"], message: "e", props: {} },
  ]);
  assert.ok(posted.every(isThreadLog));
});

Deno.test("threadLogSink: properties structured clone refuses are posted as text", () => {
  const posted: unknown[] = [];
  const { port1, port2 } = new MessageChannel();
  try {
    const sink = threadLogSink("info", (m) => {
      port1.postMessage(m); // throws DataCloneError for a symbol, as the worker's post does
      posted.push(m);
    });
    sink("error", ["cmesh", "worker"], "failed: {error}", { error: Symbol("why"), id: 7 });
    assert.deepEqual(posted, [{
      type: "log",
      level: "error",
      category: ["cmesh", "worker"],
      message: "failed: {error}",
      props: { error: "Symbol(why)", id: "7" },
    }]);
  } finally {
    port1.close();
    port2.close();
  }
});

Deno.test("isThreadLog: the main thread writes only records of the expected shape", () => {
  const ok: ThreadLog = {
    type: "log",
    level: "info",
    category: ["cmesh", "worker"],
    message: "m",
    props: {},
  };
  assert.ok(isThreadLog(ok));
  for (
    const bad of [
      null,
      "log",
      { ...ok, type: "whois" },
      { ...ok, level: "fatal" },
      { ...ok, category: "cmesh" },
      { ...ok, category: ["a", "b", "c", "d", "e"] },
      { ...ok, category: ["x".repeat(65)] },
      { ...ok, message: 1 },
      { ...ok, props: null },
      { ...ok, props: [] },
    ]
  ) assert.equal(isThreadLog(bad), false, JSON.stringify(bad));
  const long = boundedThreadLog({ ...ok, message: "y".repeat(MAX_THREAD_LOG_CHARS + 10) });
  assert.equal(long.message, `${"y".repeat(MAX_THREAD_LOG_CHARS)}… (cut)`);
  assert.equal(boundedThreadLog(ok), ok);
});

Deno.test("logger: each area's records reach this thread's sink with their level and category", () => {
  const seen: [LogLevelName, string, string, Record<string, unknown>][] = [];
  setLogSink((level, category, message, props) =>
    seen.push([level, category.join("."), message, props])
  );
  try {
    const log = logger("worker");
    log.debug("d");
    log.info("i {id}", { id: "t-1" });
    log.warn("w");
    log.error("e");
    emitLog("info", ["cmesh", "worker"], "from the thread", { n: 1 });
    assert.deepEqual(seen, [
      ["debug", "cmesh.worker", "d", {}],
      ["info", "cmesh.worker", "i {id}", { id: "t-1" }],
      ["warning", "cmesh.worker", "w", {}],
      ["error", "cmesh.worker", "e", {}],
      ["info", "cmesh.worker", "from the thread", { n: 1 }],
    ]);
  } finally {
    setLogSink(null);
  }
  logger("worker").info("dropped without a sink"); // and does not throw
});
