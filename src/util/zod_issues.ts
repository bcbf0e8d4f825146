/**
 * @module
 * Readable, located messages from zod issues, the one wording for config files, runner
 * manifests, wire requests and tailscaled's answers: the key path, what was expected and what
 * was found, e.g. `inbound.allow[1].cwd[0]: must be an absolute path, got "srv/app"` or
 * `prompt.via: missing (expected one of "arg", "stdin")`.
 */
import type { z } from "../deps/zod.ts";

/**
 * Formats a zod issue path as a TOML-ish key path.
 *
 * @example
 * ```ts
 * formatKeyPath(["inbound", "allow", 1, "cwd", 0]); // "inbound.allow[1].cwd[0]"
 * ```
 */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out || "(top level)";
}

/** The value found, short: scalars as JSON, containers by kind. */
function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "a table";
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const oneOf = (values: readonly unknown[]) =>
  `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;

/** `missing (expected X)` or `expected X, got V`. */
const wanted = (expected: string, got: unknown) =>
  got === undefined
    ? `missing (expected ${expected})`
    : `expected ${expected}, got ${describe(got)}`;

/** Where the reader learns the valid keys, named after `unknown key`. */
export interface IssueFormat {
  /** The doc that lists the keys, e.g. `docs/configuration.md`. */
  docs?: string;
}

/**
 * One readable line per zod issue (parse with `reportInput: true` so values can be quoted).
 *
 * @example
 * ```ts
 * import { z } from "../deps/zod.ts";
 * const r = z.strictObject({ via: z.enum(["arg", "stdin"]) }).safeParse({ x: 1 }, { reportInput: true });
 * if (!r.success) formatIssues(r.error.issues); // ['via: missing (expected one of "arg", "stdin")', ...]
 * ```
 */
export function formatIssues(
  issues: readonly z.core.$ZodIssue[],
  format: IssueFormat = {},
): string[] {
  const hint = format.docs ? `check the spelling; see ${format.docs}` : "check the spelling";
  const lines: string[] = [];
  for (const issue of issues) {
    const where = formatKeyPath(issue.path);
    const input = (issue as { input?: unknown }).input;
    switch (issue.code) {
      case "unrecognized_keys":
        for (const key of issue.keys) {
          lines.push(`${formatKeyPath([...issue.path, key])}: unknown key (${hint})`);
        }
        break;
      case "invalid_type":
        lines.push(`${where}: ${wanted(issue.expected, input)}`);
        break;
      case "invalid_value":
        lines.push(`${where}: ${wanted(oneOf(issue.values), input)}`);
        break;
      case "invalid_key":
        lines.push(
          `${where}: invalid name ${JSON.stringify(input)}: ${
            issue.issues.map((i) => i.message).join("; ")
          }`,
        );
        break;
      default: {
        // A discriminated union names the field that picks the branch and its choices.
        const u = issue as { discriminator?: string; options?: unknown[] };
        if (issue.code === "invalid_union" && u.discriminator !== undefined) {
          const got = (input as Record<string, unknown> | undefined)?.[u.discriminator];
          lines.push(`${where}: ${wanted(oneOf(u.options ?? []), got)}`);
        } else if (input === null || (input !== undefined && typeof input !== "object")) {
          const got = /got /.test(issue.message) ? "" : `, got ${describe(input)}`;
          lines.push(`${where}: ${issue.message}${got}`);
        } else {
          lines.push(`${where}: ${issue.message}`);
        }
      }
    }
  }
  return lines;
}

/**
 * The first `max` issues of {@link formatIssues} on one line, for a message that must stay short.
 *
 * @example
 * ```ts
 * import { z } from "../deps/zod.ts";
 * const r = z.object({ a: z.string() }).safeParse({ a: 1 }, { reportInput: true });
 * if (!r.success) issuesLine(r.error.issues, 3); // "a: expected string, got 1"
 * ```
 */
export function issuesLine(issues: readonly z.core.$ZodIssue[], max: number): string {
  const lines = formatIssues(issues);
  const more = lines.length > max ? [`and ${lines.length - max} more`] : [];
  return [...lines.slice(0, max), ...more].join("; ");
}
