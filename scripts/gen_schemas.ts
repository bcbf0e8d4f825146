/**
 * @module
 * `deno task schemas`: writes the JSON Schemas (draft 2020-12) in `schemas/` from the zod
 * schemas that the code validates with, so the two can never drift apart.
 * `tests/schemas_test.ts` regenerates them in memory and fails when `schemas/` is stale.
 *
 * Output is stable: keywords in a fixed order (`$schema`, `title`, `description`, `type`,
 * `default`, ..., `properties`, `required`, `additionalProperties`), properties in the order
 * the zod schema declares them, two-space indent and a final newline, which is also what
 * `deno fmt` produces.
 *
 * To add a schema, import it and add an entry to {@link SCHEMAS}.
 *
 * @example
 * ```ts
 * import { renderSchemas } from "./gen_schemas.ts";
 * const files = renderSchemas(); // Map { "config.schema.json" => "{\n  \"$schema\": ..." }
 * ```
 */
import { z } from "zod";
import { Config } from "../src/config/schema.ts";
import {
  CancelAnswer,
  DelegateAnswer,
  DelegateBody,
  EventsAnswer,
  PeersAnswer,
  ResultAnswer,
  StatusAnswer,
  TaskAnswer,
  TasksAnswer,
  WaitAnswer,
} from "../src/protocol/control.ts";
import { EventsRequest, StreamTaskEnd, StreamTaskEvent } from "../src/protocol/events.ts";
import { TaskEvent, TaskRequest, TaskResult, TaskStatus } from "../src/protocol/task.ts";
import { RunnerManifest } from "../src/runner/manifest.ts";
import { AuditRecord } from "../src/store/audit_schema.ts";

/** One generated schema file. */
export interface SchemaEntry {
  /** File name inside `schemas/`. */
  file: string;
  /** The zod schema it comes from. */
  schema: z.ZodType;
  /**
   * `input` for documents people write (defaults become optional), `output` for documents
   * cmesh produces (every defaulted field is present).
   */
  io: "input" | "output";
  title: string;
  description: string;
  /**
   * Keywords added to the generated schema for what zod's JSON Schema cannot carry (a refinement
   * across fields).
   */
  extra?: Record<string, unknown>;
}

/** Every schema `deno task schemas` writes. */
export const SCHEMAS: readonly SchemaEntry[] = [
  {
    file: "config.schema.json",
    schema: Config,
    io: "input",
    title: "cmesh config.toml",
    description:
      "The cmesh configuration file (TOML). Keys are documented in docs/configuration.md; unknown keys are errors.",
  },
  {
    file: "task-request.schema.json",
    schema: TaskRequest,
    io: "input",
    title: "cmesh task request",
    description: "What a requester sends to POST /v1/tasks on a worker.",
  },
  {
    file: "task-result.schema.json",
    schema: TaskResult,
    io: "output",
    title: "cmesh task result",
    description:
      "The final outcome of a task: the runner's claims kept apart from the worker's evidence.",
  },
  {
    file: "task-status.schema.json",
    schema: TaskStatus,
    io: "output",
    title: "cmesh task status",
    description: "The status of a task as GET /v1/tasks/:id reports it.",
  },
  {
    file: "task-event.schema.json",
    schema: TaskEvent,
    io: "output",
    title: "cmesh task event",
    description: "One progress event of a task; seq starts at 1 per task.",
  },
  {
    file: "events-request.schema.json",
    schema: EventsRequest,
    io: "input",
    title: "cmesh events request",
    description:
      "What a requester sends to POST /v1/events: where its copy of each task stands (task id → last event seq).",
  },
  {
    file: "stream-task-event.schema.json",
    schema: StreamTaskEvent,
    io: "output",
    title: "cmesh stream task event",
    description: "The data of an `event: task` message on POST /v1/events: one event of one task.",
  },
  {
    file: "stream-task-end.schema.json",
    schema: StreamTaskEnd,
    io: "output",
    title: "cmesh stream task end",
    description:
      "The data of an `event: end` message on POST /v1/events: the task is terminal and all its events were sent.",
  },
  {
    file: "control-task.schema.json",
    schema: TaskAnswer,
    io: "output",
    title: "cmesh control API task",
    description: "GET /v1/tasks/:id on the loopback control API: an outbound task and its peer.",
  },
  {
    file: "control-wait.schema.json",
    schema: WaitAnswer,
    io: "output",
    title: "cmesh control API wait",
    description:
      "GET /v1/tasks/:id/wait on the loopback control API: the task now and its events after `after`.",
  },
  {
    file: "control-result.schema.json",
    schema: ResultAnswer,
    io: "output",
    title: "cmesh control API result",
    description: "GET /v1/tasks/:id/result on the loopback control API, once the task finished.",
  },
  {
    file: "control-status.schema.json",
    schema: StatusAnswer,
    io: "output",
    title: "cmesh control API status",
    description:
      "GET /v1/status on the loopback control API: the daemon, tailnet, worker, runners.",
  },
  {
    file: "control-peers.schema.json",
    schema: PeersAnswer,
    io: "output",
    title: "cmesh control API peers",
    description:
      "GET /v1/peers on the loopback control API: each outbound peer, its pin, online state and what it allows me.",
  },
  {
    file: "control-delegate-request.schema.json",
    schema: DelegateBody,
    io: "input",
    title: "cmesh control API delegate request",
    description: "What a client sends to POST /v1/delegate on the loopback control API.",
    // The refinement: exactly one of prompt and task (its old name).
    extra: { oneOf: [{ required: ["prompt"] }, { required: ["task"] }] },
  },
  {
    file: "control-delegate.schema.json",
    schema: DelegateAnswer,
    io: "output",
    title: "cmesh control API delegate answer",
    description:
      "POST /v1/delegate on the loopback control API (202): the task as recorded and its peer.",
  },
  {
    file: "control-tasks.schema.json",
    schema: TasksAnswer,
    io: "output",
    title: "cmesh control API tasks",
    description: "GET /v1/tasks on the loopback control API: recent outbound tasks, newest first.",
  },
  {
    file: "control-events.schema.json",
    schema: EventsAnswer,
    io: "output",
    title: "cmesh control API events",
    description:
      "GET /v1/tasks/:id/events on the loopback control API: stored events after `after`.",
  },
  {
    file: "control-cancel.schema.json",
    schema: CancelAnswer,
    io: "output",
    title: "cmesh control API cancel",
    description:
      "POST /v1/tasks/:id/cancel on the loopback control API (202): the task after the cancel.",
  },
  {
    file: "runner-manifest.schema.json",
    schema: RunnerManifest,
    io: "input",
    title: "cmesh runner manifest",
    description:
      "A declarative description of one coding-agent CLI (see docs/runner-manifests.md).",
  },
  {
    file: "audit-record.schema.json",
    schema: AuditRecord,
    io: "output",
    title: "cmesh audit record",
    description:
      "One hash-chained audit log record, as stored and as exported by 'cmesh audit export'.",
  },
];

/** JSON Schema keywords in the order they are written; anything else follows, sorted. */
const KEYWORD_ORDER = [
  "$schema",
  "$id",
  "$ref",
  "title",
  "description",
  "type",
  "default",
  "const",
  "enum",
  "format",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "exclusiveMinimum",
  "maximum",
  "exclusiveMaximum",
  "multipleOf",
  "minItems",
  "maxItems",
  "uniqueItems",
  "items",
  "prefixItems",
  "minProperties",
  "maxProperties",
  "propertyNames",
  "properties",
  "patternProperties",
  "required",
  "additionalProperties",
  "anyOf",
  "oneOf",
  "allOf",
  "not",
  "$defs",
];

/** Keys whose value maps names to subschemas: the names keep their declared order. */
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "$defs", "dependentSchemas"]);
/** Keys whose value is data, not a schema: copied as is. */
const DATA_KEYS = new Set(["default", "const", "enum", "examples", "required"]);

function rank(key: string): number {
  const i = KEYWORD_ORDER.indexOf(key);
  return i === -1 ? KEYWORD_ORDER.length : i;
}

/** Rewrites a JSON Schema with keywords in {@link KEYWORD_ORDER}, recursively. */
export function orderKeywords(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(orderKeywords);
  if (node === null || typeof node !== "object") return node;
  const obj = node as Record<string, unknown>;
  const keys = Object.keys(obj).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = obj[key];
    if (DATA_KEYS.has(key)) out[key] = value;
    else if (SCHEMA_MAPS.has(key) && value && typeof value === "object") {
      out[key] = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, orderKeywords(v)]),
      );
    } else out[key] = orderKeywords(value);
  }
  return out;
}

/** The JSON text of one schema file (pretty-printed, final newline). */
export function renderSchema(entry: SchemaEntry): string {
  const generated = z.toJSONSchema(entry.schema, {
    target: "draft-2020-12",
    io: entry.io,
    unrepresentable: "throw",
  });
  const withMeta = {
    ...generated,
    ...entry.extra,
    title: entry.title,
    description: entry.description,
  };
  return `${JSON.stringify(orderKeywords(withMeta), null, 2)}\n`;
}

/** Every schema file name with its text, in {@link SCHEMAS} order. */
export function renderSchemas(): Map<string, string> {
  return new Map(SCHEMAS.map((entry) => [entry.file, renderSchema(entry)]));
}

/** The `schemas/` directory of this repository. */
export const SCHEMAS_DIR = new URL("../schemas/", import.meta.url);

/** Writes every schema into `schemas/` and removes generated files no longer listed. */
export async function writeSchemas(dir: URL = SCHEMAS_DIR): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const files = renderSchemas();
  for (const [file, text] of files) await Deno.writeTextFile(new URL(file, dir), text);
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".schema.json") && !files.has(entry.name)) {
      await Deno.remove(new URL(entry.name, dir));
    }
  }
  return [...files.keys()];
}

if (import.meta.main) {
  const written = await writeSchemas();
  for (const file of written) console.log(`wrote schemas/${file}`);
}
