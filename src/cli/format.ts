/**
 * @module
 * Human-readable rendering of task statuses, events and results for the CLI. Results always
 * show the remote agent's claims apart from the worker's evidence.
 */
import type { TaskEvent, TaskResult, TaskStatus } from "../protocol/task.ts";
import { escapeControls, quoteLines } from "../util/untrusted_text.ts";
import { style } from "./output.ts";

/** One line per task: id, state, peer, profile, cwd, age. */
export function formatTaskLine(t: TaskStatus & { peer?: string }): string {
  return `${t.id}  ${t.state.padEnd(11)} ${(t.peer ?? "").padEnd(14)} ${
    t.profile.padEnd(6)
  } ${t.cwd}`;
}

/** One event as a log line. */
export function formatEvent(ev: TaskEvent): string {
  const text = ev.text.length > 300 ? `${ev.text.slice(0, 300)}…` : ev.text;
  return `${ev.at.slice(11, 19)} #${String(ev.seq).padStart(3)} ${ev.kind.padEnd(7)} ${
    escapeControls(text.replace(/\s*(?:\r\n|[\n\r\v\f\x85\u2028\u2029])\s*/g, " | "))
  }`;
}

/** A result with claims and evidence clearly apart. */
export function formatResult(r: TaskResult, peer?: string): string {
  const lines: string[] = [];
  lines.push(
    `${style("task", "bold")} ${r.id} on ${peer ?? "?"}: ${
      style(r.state, r.state === "succeeded" ? "green" : "red")
    }`,
  );
  lines.push(`  runner ${r.runner || "?"}, profile ${r.profile}, cwd ${r.cwd}`);
  if (r.error) {
    lines.push(`  error: ${r.error.message}${r.error.rule ? ` [rule ${r.error.rule}]` : ""}`);
  }
  lines.push("");
  lines.push(
    style(
      "Claims (what the remote agent says; untrusted) — every line of it starts with |:",
      "bold",
    ),
  );
  // Quoted line by line with controls escaped: a claim cannot end the block, move the cursor
  // (`\r`, ANSI escapes) or print an unquoted line that reads like the evidence below.
  lines.push(
    r.claims.final_text ? quoteLines(r.claims.final_text, "  | ").join("\n") : "  (no final text)",
  );
  lines.push("");
  lines.push(style("Evidence (observed by the worker):", "bold"));
  const e = r.evidence;
  if (!e) lines.push("  (none: the runner did not run)");
  else {
    lines.push(
      `  exit: ${e.exit_code ?? "-"}${e.signal ? ` (signal ${e.signal})` : ""}, duration ${
        (e.duration_ms / 1000).toFixed(1)
      }s`,
    );
    const u = e.usage;
    lines.push(
      `  usage: ${u.input_tokens ?? "?"} in / ${u.output_tokens ?? "?"} out tokens${
        u.cost_usd !== null ? `, $${u.cost_usd}` : ""
      }`,
    );
    if (e.git) {
      const head = (h: string | null | undefined) => h ? h.slice(0, 12) : "none";
      lines.push(
        `  git: HEAD ${head(e.git.before?.head)} -> ${
          head(e.git.after?.head)
        }, ${e.git.changed_files.length} file(s) changed`,
      );
      for (const f of e.git.changed_files.slice(0, 20)) lines.push(`    ${escapeControls(f)}`);
      if (e.git.diff_stat) lines.push(quoteLines(e.git.diff_stat, "    ").join("\n"));
    } else lines.push("  git: not a git work tree");
    if (e.permission_denials.length) {
      lines.push(`  permission denials (${e.permission_denials.length}):`);
      for (const d of e.permission_denials.slice(0, 10)) {
        lines.push(`    ${escapeControls(d.tool)}: ${quoteLines(d.detail, "").join(" | ")}`);
      }
    }
    if (e.truncated.stdout || e.truncated.stderr) {
      lines.push(`  output truncated: stdout ${e.truncated.stdout}, stderr ${e.truncated.stderr}`);
    }
  }
  return lines.join("\n");
}
