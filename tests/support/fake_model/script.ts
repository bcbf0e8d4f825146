/**
 * @module
 * Scripts of the fake model server: the data format, loading, turn selection and placeholder
 * substitution. Pure apart from {@link loadScriptFile}.
 *
 * A script is a JSON document (files in `tests/testdata/fake_model/`):
 *
 * ```json
 * { "anthropic": { "turns": [
 *     { "tool_calls": [ { "name": "Read", "input": { "file_path": "{{workdir}}/notes.txt" } } ] },
 *     { "text": "The file says: {{last_tool_result}}" } ] },
 *   "openai": { "turns": [
 *     { "tool_calls": [ { "name": "exec_command", "input": { "cmd": "cat notes.txt" } } ] },
 *     { "text": "The file says: {{last_tool_result}}" } ] } }
 * ```
 *
 * - A top-level `turns` list is shared by both APIs; `anthropic`/`openai` override it per API.
 * - Turn fields: `text`, `tool_calls` (`{name, input, type?: "function" | "custom"}`; a custom
 *   call's `input` is a string, e.g. an `apply_patch` patch), `http_status` + `error_body`
 *   (a scripted error), `hang` (never answer), `delay_ms` (before answering),
 *   `chunk_delay_ms` (between SSE events), `input_tokens`/`output_tokens` (reported usage,
 *   default 100/20).
 * - `after_last`: the turn used once the script is exhausted (default: a text turn
 *   "script exhausted").
 * - Placeholders in `text` and in tool inputs: `{{last_tool_result}}` (the newest tool result
 *   in the request), `{{tool_results}}` (all of them, oldest first, joined by `\n---\n`), and
 *   any variable the test passes (`{{workdir}}`).
 *
 * **Turn selection is stateless**: the turn index is derived from the request itself (every
 * tool call id the server hands out carries its turn, `toolu_t3_0`, and the CLI sends the
 * ids back in the conversation history), so retries and parallel tests need no server state.
 */

/** One tool call the scripted model makes. */
export interface ScriptToolCall {
  name: string;
  /** A JSON object (function calls) or a string (custom tool calls such as `apply_patch`). */
  input: unknown;
  /** Responses API only: `custom` makes a `custom_tool_call` (freeform input). */
  type?: "function" | "custom";
}

/** One model answer. */
export interface ScriptTurn {
  text?: string;
  tool_calls?: ScriptToolCall[];
  http_status?: number;
  error_body?: unknown;
  hang?: boolean;
  delay_ms?: number;
  chunk_delay_ms?: number;
  input_tokens?: number;
  output_tokens?: number;
}

/** The turns of one API. */
export interface ApiScript {
  turns: ScriptTurn[];
  after_last?: ScriptTurn;
}

/** A whole script. */
export interface FakeModelScript {
  description?: string;
  turns?: ScriptTurn[];
  after_last?: ScriptTurn;
  anthropic?: ApiScript;
  openai?: ApiScript;
}

/** The two APIs the server speaks. */
export type Api = "anthropic" | "openai";

/** Default usage reported per answer. */
export const DEFAULT_INPUT_TOKENS = 100;
/** Default usage reported per answer. */
export const DEFAULT_OUTPUT_TOKENS = 20;

const EXHAUSTED: ScriptTurn = { text: "script exhausted" };

/** True for a JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** `v` when it is a JSON object, else an empty object. */
export function asJsonObject(v: unknown): Record<string, unknown> {
  return isJsonObject(v) ? v : {};
}

/**
 * Reads and checks a script file.
 *
 * @example
 * ```ts
 * const script = await loadScriptFile("tests/testdata/fake_model/read_then_answer.json");
 * ```
 */
export async function loadScriptFile(path: string | URL): Promise<FakeModelScript> {
  return validateScript(JSON.parse(await Deno.readTextFile(path)), String(path));
}

/** Checks the shape of a parsed script; throws with the offending path. */
export function validateScript(raw: unknown, where = "script"): FakeModelScript {
  if (!isJsonObject(raw)) throw new Error(`${where}: a script must be a JSON object`);
  const checkTurn = (t: unknown, at: string) => {
    if (!isJsonObject(t)) throw new Error(`${at}: a turn must be an object`);
    const known = [
      "text",
      "tool_calls",
      "http_status",
      "error_body",
      "hang",
      "delay_ms",
      "chunk_delay_ms",
      "input_tokens",
      "output_tokens",
      "comment",
    ];
    for (const k of Object.keys(t)) if (!known.includes(k)) throw new Error(`${at}.${k}: unknown`);
    if (t.tool_calls !== undefined) {
      if (!Array.isArray(t.tool_calls)) throw new Error(`${at}.tool_calls: must be an array`);
      t.tool_calls.forEach((c, i) => {
        if (!isJsonObject(c) || typeof c.name !== "string") {
          throw new Error(`${at}.tool_calls[${i}]: needs a string name`);
        }
      });
    }
  };
  const checkApi = (a: unknown, at: string) => {
    if (!isJsonObject(a) || !Array.isArray(a.turns)) {
      throw new Error(`${at}.turns: must be an array`);
    }
    a.turns.forEach((t, i) => checkTurn(t, `${at}.turns[${i}]`));
    if (a.after_last !== undefined) checkTurn(a.after_last, `${at}.after_last`);
  };
  if (raw.turns !== undefined) checkApi(raw, where);
  if (raw.anthropic !== undefined) checkApi(raw.anthropic, `${where}.anthropic`);
  if (raw.openai !== undefined) checkApi(raw.openai, `${where}.openai`);
  return raw as FakeModelScript;
}

/** The turns for one API (its own section, else the shared one). */
export function apiScript(script: FakeModelScript, api: Api): ApiScript {
  const own = script[api];
  if (own) return own;
  return { turns: script.turns ?? [], after_last: script.after_last };
}

/** The turn to play for index `index`. */
export function turnAt(script: FakeModelScript, api: Api, index: number): ScriptTurn {
  const s = apiScript(script, api);
  return s.turns[index] ?? s.after_last ?? script.after_last ?? EXHAUSTED;
}

/** A tool call id that carries its turn: `toolu_t2_0` (Anthropic), `call_t2_0` (OpenAI). */
export function toolCallId(prefix: string, turn: number, n: number): string {
  return `${prefix}_t${turn}_${n}`;
}

const TAGGED_ID = /_t(\d+)_\d+$/;

/**
 * The turn a request asks for: one past the newest turn tag among the tool call ids in its
 * history; without tags, the number of model turns counted by the caller.
 */
export function turnIndexFromIds(ids: readonly string[], countedTurns: number): number {
  let max = -1;
  for (const id of ids) {
    const m = TAGGED_ID.exec(id);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return Math.max(max + 1, countedTurns);
}

/** Values for `{{name}}` placeholders. */
export interface Placeholders {
  toolResults: readonly string[];
  vars: Readonly<Record<string, string>>;
}

/** Replaces placeholders in a string. Unknown names are left as they are. */
export function fillText(text: string, p: Placeholders): string {
  return text.replace(/\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}/g, (whole, name: string) => {
    if (name === "last_tool_result") return p.toolResults.at(-1) ?? "";
    if (name === "tool_results") return p.toolResults.join("\n---\n");
    return Object.hasOwn(p.vars, name) ? p.vars[name] : whole;
  });
}

/** Replaces placeholders in every string inside a JSON value. */
export function fillValue(value: unknown, p: Placeholders): unknown {
  if (typeof value === "string") return fillText(value, p);
  if (Array.isArray(value)) return value.map((v) => fillValue(v, p));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillValue(v, p)]));
  }
  return value;
}

/** What a request's history says, as each API's reader finds it. */
export interface RequestHistory {
  /** Tool results in the request, oldest first. */
  toolResults: string[];
  /** The tool call ids in the request (their tags name the turn). */
  callIds: readonly string[];
  /** The model turns counted in the request (used when no id carries a tag). */
  modelTurns: number;
}

/** The scripted turn a request asks for, and what its answer is built from. */
export interface TurnContext {
  /** Index of the scripted turn. */
  turn: number;
  /** The scripted turn (placeholders not yet filled; errors and hangs live here). */
  scripted: ScriptTurn;
  /** Values for the turn's placeholders. */
  placeholders: Placeholders;
  /** The request's model (`fake-model` when it names none). */
  model: string;
  /** The usage to report. */
  inputTokens: number;
  outputTokens: number;
}

/**
 * Picks the turn a request of `api` asks for ({@link turnIndexFromIds}) and gathers what the
 * answer needs: the scripted turn, its placeholders, the model and the usage to report.
 *
 * @example
 * ```ts
 * const t = turnContext("openai", { model: "m" }, { toolResults: [], callIds: [], modelTurns: 0 },
 *   { turns: [{ text: "hi" }] }, {});
 * t.turn; // 0
 * ```
 */
export function turnContext(
  api: Api,
  body: Record<string, unknown>,
  history: RequestHistory,
  script: FakeModelScript,
  vars: Readonly<Record<string, string>>,
): TurnContext {
  const turn = turnIndexFromIds(history.callIds, history.modelTurns);
  const scripted = turnAt(script, api, turn);
  return {
    turn,
    scripted,
    placeholders: { toolResults: history.toolResults, vars },
    model: typeof body.model === "string" ? body.model : "fake-model",
    inputTokens: scripted.input_tokens ?? DEFAULT_INPUT_TOKENS,
    outputTokens: scripted.output_tokens ?? DEFAULT_OUTPUT_TOKENS,
  };
}
