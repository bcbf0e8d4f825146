/**
 * @module
 * The human's confirmation of a plan that widens what other machines may do here: the model
 * must not be able to give it. Where the MCP client declares the `elicitation` capability,
 * cmesh asks the user directly (`elicitation/create`, a form with one yes/no field) and only
 * an explicit "apply" answer counts; otherwise the tool refuses and names the
 * `cmesh config apply <hash>` command the user runs in a terminal.
 *
 * @example
 * ```ts
 * import type { McpServer } from "../../deps/mcp.ts";
 * import type { Plan } from "../../setup/plan.ts";
 * import { askUser, refuseWidening } from "./confirm.ts";
 * async function confirmWidening(server: McpServer, plan: Plan, widens: string[]) {
 *   const asked = await askUser(server, plan, widens);
 *   if (asked !== "accepted") return refuseWidening(plan, widens, asked);
 *   return null; // go on and apply
 * }
 * ```
 */
import type { CallToolResult, McpServer } from "../../deps/mcp.ts";
import type { Plan } from "../../setup/plan.ts";
import type { RuleId } from "../../protocol/rules.ts";
import { fail } from "./common.ts";

/** How asking went. */
export type AskOutcome = "accepted" | "declined" | "unsupported" | { failed: string };

/** How long the user has to answer the prompt. */
const ELICIT_TIMEOUT_MS = 15 * 60 * 1000;

/** A word as a POSIX shell would read it. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_/.:@%+=,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The exact terminal command that applies plan `hash` to `configFile`. */
export function applyCommand(hash: string, configFile: string): string {
  return `cmesh config apply ${hash} --config ${shellWord(configFile)}`;
}

/** The prompt text: what widens, what changes, the diff. */
function promptText(plan: Plan, widens: string[]): string {
  const diff = plan.diff.length > 6000 ? `${plan.diff.slice(0, 6000)}\n… (diff cut)` : plan.diff;
  return [
    `cmesh: your agent asks to change ${plan.file}. This widens what other machines may do on this machine:`,
    ...widens.map((w) => `- ${w}`),
    "",
    "All changes:",
    ...plan.changes.map((c) => `- ${c}`),
    ...(plan.warnings.length ? ["", "Warnings:", ...plan.warnings.map((w) => `- ${w}`)] : []),
    "",
    diff,
    "Apply it only if you asked for exactly this.",
  ].join("\n");
}

/**
 * Asks the user (not the model) to confirm a widening plan through MCP elicitation. Returns
 * `unsupported` when the client did not declare form elicitation.
 */
export async function askUser(
  server: McpServer,
  plan: Plan,
  widens: string[],
  relatedRequestId?: string | number,
): Promise<AskOutcome> {
  if (!server.server.getClientCapabilities()?.elicitation?.form) return "unsupported";
  try {
    const res = await server.server.elicitInput({
      mode: "form",
      message: promptText(plan, widens),
      requestedSchema: {
        type: "object",
        properties: {
          apply: {
            type: "boolean",
            title: "Apply this change",
            description: `Write the proposed ${plan.file} (plan ${plan.hash})`,
          },
        },
        required: ["apply"],
      },
    }, { relatedRequestId, timeout: ELICIT_TIMEOUT_MS });
    return res.action === "accept" && res.content?.apply === true ? "accepted" : "declined";
  } catch (e) {
    return { failed: (e as Error).message };
  }
}

const WIDENING_RULE: RuleId = "setup.widening_needs_user";

/** The refusal for a widening plan the user did not confirm, naming the terminal command. */
export function refuseWidening(plan: Plan, widens: string[], asked: AskOutcome): CallToolResult {
  const cmd = applyCommand(plan.hash, plan.file);
  const why = typeof asked === "object"
    ? `Asking the user failed (${asked.failed}), so it was not applied.`
    : asked === "declined"
    ? "The user declined it in the confirmation prompt, so it was not applied."
    : "This client cannot ask the user directly (no MCP elicitation), and the model may not confirm such a change, so it was not applied.";
  return fail(
    asked === "declined" ? "not_confirmed" : "needs_user_confirmation",
    [
      `Refused (rule ${WIDENING_RULE}): plan ${plan.hash} widens what other machines may do on this machine:`,
      ...widens.map((w) => `- ${w}`),
      why,
      `If the user wants it, they review the diff and run this in a terminal on this machine:`,
      `  ${cmd}`,
      "Do not run it yourself: the user's own confirmation is the point.",
    ].join("\n"),
  );
}
