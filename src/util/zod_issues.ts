/**
 * @module
 * Readable, located messages from zod issues: `inbound.allow[1].cwd[0]: must be an absolute
 * path, got "srv/app"`. Used for config files, wire requests and tailscaled's answers alike.
 */
import type { z } from "zod";

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

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "a table";
  const s = JSON.stringify(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** One readable line per zod issue. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        lines.push(
          `${
            formatKeyPath([...issue.path, key])
          }: unknown key (check the spelling; see docs/configuration.md)`,
        );
      }
      continue;
    }
    const where = formatKeyPath(issue.path);
    let msg = issue.message;
    if (issue.code === "invalid_type") {
      msg = `expected ${issue.expected}, got ${describe(issue.input)}`;
    } else if ("input" in issue && issue.input !== undefined && !/got /.test(msg)) {
      msg = `${msg}, got ${describe(issue.input)}`;
    }
    lines.push(`${where}: ${msg}`);
  }
  return lines;
}

/**
 * The first `max` issues of {@link formatIssues} on one line, for a message that must stay short.
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * const r = z.object({ a: z.string() }).safeParse({ a: 1 });
 * if (!r.success) issuesLine(r.error.issues, 3); // "a: expected string, got 1"
 * ```
 */
export function issuesLine(issues: readonly z.core.$ZodIssue[], max: number): string {
  const lines = formatIssues(issues);
  const more = lines.length > max ? [`and ${lines.length - max} more`] : [];
  return [...lines.slice(0, max), ...more].join("; ");
}
