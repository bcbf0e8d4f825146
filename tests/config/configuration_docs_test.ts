/**
 * @module
 * docs/configuration.md documents every key of the config schema, each written in backticks
 * as its full dotted path (`inbound.allow[].cwd`, `profiles.<name>.enabled`).
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { Config } from "../../src/config/schema.ts";

type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
};

/** Every key path of the schema: arrays of tables as `[]`, named tables as `.<name>`. */
function keyPaths(node: JsonSchema, prefix = ""): string[] {
  const out: string[] = [];
  if (node.type === "object" && node.properties) {
    for (const [key, child] of Object.entries(node.properties)) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.push(path, ...keyPaths(child, path));
    }
  } else if (node.type === "object" && typeof node.additionalProperties === "object") {
    const child = node.additionalProperties;
    if (child.type === "object" && child.properties) {
      out.push(...keyPaths(child, `${prefix}.<name>`));
    }
  } else if (node.type === "array" && node.items?.type === "object") {
    out.push(...keyPaths(node.items, `${prefix}[]`));
  }
  return out;
}

Deno.test("docs/configuration.md names every config key by its full path", async () => {
  const doc = await Deno.readTextFile(new URL("../../docs/configuration.md", import.meta.url));
  const paths = keyPaths(z.toJSONSchema(Config, { io: "input" }) as JsonSchema);
  assert.ok(paths.includes("inbound.allow[].cwd"));
  assert.ok(paths.includes("runners.<name>.env_pass"));
  const missing = paths.filter((p) => !doc.includes(`\`${p}\``));
  assert.deepEqual(missing, [], "undocumented keys");
});
