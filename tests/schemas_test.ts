/**
 * @module
 * `schemas/` must be exactly what `deno task schemas` would write now: regenerated in memory
 * and compared, so a schema change without a regeneration fails here.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  orderKeywords,
  renderSchema,
  renderSchemas,
  SCHEMAS,
  SCHEMAS_DIR,
} from "../scripts/gen_schemas.ts";

const STALE = "schemas/ is stale: run `deno task schemas` and commit the result";

async function readIfExists(url: URL): Promise<string | null> {
  try {
    return await Deno.readTextFile(url);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

Deno.test("every schema in schemas/ is up to date", async () => {
  const stale: string[] = [];
  for (const [file, expected] of renderSchemas()) {
    const actual = await readIfExists(new URL(file, SCHEMAS_DIR));
    if (actual === null) stale.push(`${file} (missing)`);
    else if (actual !== expected) stale.push(`${file} (differs)`);
  }
  assert.deepEqual(stale, [], `${STALE}: ${stale.join(", ")}`);
});

Deno.test("schemas/ holds no generated file that is no longer generated", async () => {
  const expected = new Set(SCHEMAS.map((s) => s.file));
  const extra: string[] = [];
  for await (const entry of Deno.readDir(SCHEMAS_DIR)) {
    if (entry.name.endsWith(".schema.json") && !expected.has(entry.name)) extra.push(entry.name);
  }
  assert.deepEqual(extra, [], `${STALE} (it removes files no longer listed)`);
});

Deno.test("the schema set covers config, wire messages, control answers, manifests and audit records", () => {
  assert.deepEqual(SCHEMAS.map((s) => s.file), [
    "config.schema.json",
    "task-request.schema.json",
    "task-result.schema.json",
    "task-status.schema.json",
    "task-event.schema.json",
    "events-request.schema.json",
    "stream-task-event.schema.json",
    "stream-task-end.schema.json",
    "control-task.schema.json",
    "control-wait.schema.json",
    "control-result.schema.json",
    "control-status.schema.json",
    "control-peers.schema.json",
    "control-delegate-request.schema.json",
    "control-delegate.schema.json",
    "control-tasks.schema.json",
    "control-events.schema.json",
    "control-cancel.schema.json",
    "runner-manifest.schema.json",
    "audit-record.schema.json",
  ]);
});

Deno.test("every schema is draft 2020-12 with a title and a description", () => {
  for (const [file, text] of renderSchemas()) {
    const schema = JSON.parse(text);
    assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema", file);
    assert.equal(Object.keys(schema).slice(0, 3).join(","), "$schema,title,description", file);
    assert.ok(schema.title.startsWith("cmesh "), file);
    assert.equal(schema.type, "object", file);
    assert.equal(schema.additionalProperties, false, `${file}: unknown keys must be rejected`);
  }
});

Deno.test("generation is deterministic", () => {
  for (const entry of SCHEMAS) assert.equal(renderSchema(entry), renderSchema(entry), entry.file);
});

Deno.test("the config schema is the input side: defaults are optional", () => {
  const schema = JSON.parse(renderSchemas().get("config.schema.json")!);
  assert.equal(schema.required, undefined, "no top-level section is required");
  assert.equal(schema.properties.inbound.properties.enabled.default, false);
  assert.equal(schema.properties.inbound.properties.required, undefined);
  const rule = schema.properties.inbound.properties.allow.items;
  assert.deepEqual(rule.required, ["cwd"], "an inbound rule requires only cwd");
  assert.equal(rule.additionalProperties, false);
  assert.equal(schema.properties.daemon.properties.worker_port.maximum, 65535);
  assert.deepEqual(Object.keys(schema.properties), [
    "node",
    "daemon",
    "tailscale",
    "sandbox",
    "outbound",
    "inbound",
    "profiles",
    "runners",
  ]);
});

Deno.test("orderKeywords: fixed keyword order, declared property order, data untouched", () => {
  const ordered = orderKeywords({
    additionalProperties: false,
    properties: { zeta: { type: "string", default: "b" }, alpha: { minimum: 1, type: "integer" } },
    type: "object",
    required: ["zeta", "alpha"],
    $schema: "x",
  });
  assert.equal(
    JSON.stringify(ordered),
    JSON.stringify({
      $schema: "x",
      type: "object",
      properties: {
        zeta: { type: "string", default: "b" },
        alpha: { type: "integer", minimum: 1 },
      },
      required: ["zeta", "alpha"],
      additionalProperties: false,
    }),
  );
  // A default value that happens to look like a schema is data: its keys keep their order.
  const withData = orderKeywords({ default: { type: 1, $schema: 2 } }) as Record<string, unknown>;
  assert.deepEqual(Object.keys(withData.default as object), ["type", "$schema"]);
});

Deno.test("schemas/ is deno fmt clean", async () => {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--check", fileURLToPath(SCHEMAS_DIR)],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
});

Deno.test("the delegate request schema says what its refinement does: exactly one of prompt and task", () => {
  const entry = SCHEMAS.find((s) => s.file === "control-delegate-request.schema.json")!;
  const schema = JSON.parse(renderSchema(entry)) as {
    oneOf?: { required: string[] }[];
    properties: Record<string, unknown>;
    required?: string[];
  };
  assert.deepEqual(schema.oneOf, [{ required: ["prompt"] }, { required: ["task"] }]);
  assert.ok("prompt" in schema.properties && "task" in schema.properties);
  assert.ok(!(schema.required ?? []).includes("prompt"), "each alone is optional in properties");
  // And zod, which the server runs, agrees: both, or neither, is refused.
  const base = { peer: "box", cwd: "/srv/app" };
  assert.equal(entry.schema.safeParse({ ...base, prompt: "p" }).success, true);
  assert.equal(entry.schema.safeParse({ ...base, task: "p" }).success, true);
  assert.equal(entry.schema.safeParse({ ...base, prompt: "p", task: "p" }).success, false);
  assert.equal(entry.schema.safeParse(base).success, false);
});
