/** The error-code, task-error-code and rule-id tables and docs/errors.md agree, row for row. */
import assert from "node:assert/strict";
import { ERROR_STATUS } from "../../src/protocol/errors.ts";
import { RULES } from "../../src/protocol/rules.ts";
import { TASK_ERRORS } from "../../src/protocol/task_errors.ts";

const DOC = Deno.readTextFileSync(new URL("../../docs/errors.md", import.meta.url));

/** The rows of the table under `## heading`: cells, the first without its backticks. */
function table(heading: string): string[][] {
  const section = DOC.split(`\n## ${heading}\n`)[1]?.split("\n## ")[0] ?? "";
  return section.split("\n")
    .filter((l) => l.startsWith("| ") && !/^\| -/.test(l))
    .slice(1)
    .map((l) => l.slice(2, -2).split(" | ").map((c) => c.trim()))
    .map(([first, ...rest]) => [first.replace(/^`(.*)`$/, "$1"), ...rest]);
}

Deno.test("docs/errors.md lists every error code with the status the code table gives it", () => {
  const documented = Object.fromEntries(
    table("Error codes").map(([code, status]) => [code, +status]),
  );
  assert.deepEqual(documented, ERROR_STATUS);
  for (const [code, , meaning] of table("Error codes")) {
    assert.ok(meaning, `${code} has no meaning`);
  }
});

Deno.test("every error code has an HTTP status an error answer can use", () => {
  for (const [code, status] of Object.entries(ERROR_STATUS)) {
    assert.ok(status >= 400 && status < 600, `${code}: ${status}`);
  }
});

Deno.test("docs/errors.md lists every rule id as protocol/rules.ts says it", () => {
  assert.deepEqual(Object.fromEntries(table("Rule ids")), RULES);
});

Deno.test("docs/errors.md lists every task error code as protocol/task_errors.ts says it", () => {
  assert.deepEqual(Object.fromEntries(table("Task error codes")), TASK_ERRORS);
});
