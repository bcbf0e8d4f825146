/**
 * @module
 * Pure edits of agent config files: add, replace or remove one MCP server entry and leave
 * everything else as it was. JSON files are re-serialised with the file's own indentation
 * (JSON has no comments to lose). TOML (Codex) is edited as text — only the
 * `[mcp_servers.<name>]` block changes, so comments and layout elsewhere survive — and the
 * result is checked by parsing both versions with smol-toml; if the text edit cannot be proven
 * right (e.g. the entry is an inline table), the whole file is re-serialised instead and
 * `reformatted` says so.
 *
 * @example
 * ```ts
 * import { setJsonServer } from "./edit.ts";
 * const r = setJsonServer('{"mcpServers":{"x":{"command":"x"}}}', "cmesh", { command: "cmesh", args: ["mcp"] });
 * r.changed; // true; r.text keeps "x"
 * ```
 */
import { CmeshError } from "../../protocol/errors.ts";
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";

/** The outcome of an edit. */
export interface EditResult {
  /** The new file text (equal to the input when nothing changed). */
  text: string;
  changed: boolean;
  /** What was there before under that name (`undefined`: nothing). */
  previous: unknown;
  /** True when comments/layout could not be kept (TOML fallback). */
  reformatted?: boolean;
}

/** A file that cannot be edited safely; the message says why and what to do. */
export class AgentConfigError extends CmeshError<"agent_config"> {
  constructor(readonly file: string, message: string) {
    super("agent_config", `${file}: ${message}`);
  }
}

type Obj = Record<string, unknown>;

/**
 * Structural equality of parsed config data. Unlike `sameData` it ignores
 * prototypes (smol-toml builds its tables without `Object.prototype`); TOML dates compare by
 * their text.
 */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
      a.every((x, i) => sameData(x, b[i]));
  }
  if (a instanceof Date || b instanceof Date) return String(a) === String(b);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length &&
    ka.every((k) => Object.hasOwn(b, k) && sameData((a as Obj)[k], (b as Obj)[k]));
}
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function detectIndent(text: string): string | number {
  const m = /^\{\s*?\n([ \t]+)\S/.exec(text);
  return m ? m[1] : 2;
}

function parseJsonObject(text: string | null, file: string): Obj {
  if (text === null || text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new AgentConfigError(
      file,
      `is not valid JSON (${(e as Error).message}); fix or move it, then run this again`,
    );
  }
  if (!isObj(value)) throw new AgentConfigError(file, "does not hold a JSON object");
  return value;
}

function serversOf(root: Obj, file: string): Obj | undefined {
  const servers = root.mcpServers;
  if (servers !== undefined && !isObj(servers)) {
    throw new AgentConfigError(file, '"mcpServers" is not an object');
  }
  return servers;
}

/** Adds or replaces `mcpServers[name]` in a JSON config (`text` null: the file is new). */
export function setJsonServer(
  text: string | null,
  name: string,
  entry: Obj,
  file = "config",
): EditResult {
  const root = parseJsonObject(text, file);
  const servers = serversOf(root, file) ?? {};
  const previous = servers[name];
  if (sameData(previous, entry) && text !== null) {
    return { text, changed: false, previous };
  }
  root.mcpServers = { ...servers, [name]: entry };
  const indent = text ? detectIndent(text) : 2;
  return { text: JSON.stringify(root, null, indent) + "\n", changed: true, previous };
}

/** Removes `mcpServers[name]` from a JSON config (no change when absent). */
export function removeJsonServer(text: string | null, name: string, file = "config"): EditResult {
  if (text === null) return { text: "", changed: false, previous: undefined };
  const root = parseJsonObject(text, file);
  const servers = serversOf(root, file);
  if (!servers || !(name in servers)) return { text, changed: false, previous: undefined };
  const previous = servers[name];
  const rest = { ...servers };
  delete rest[name];
  root.mcpServers = rest;
  return { text: JSON.stringify(root, null, detectIndent(text)) + "\n", changed: true, previous };
}

/** Reads `mcpServers[name]` from a JSON config. */
export function getJsonServer(text: string | null, name: string, file = "config"): unknown {
  if (text === null) return undefined;
  return serversOf(parseJsonObject(text, file), file)?.[name];
}

// ---- TOML (Codex) ----

/** The key path of a `[table]` / `[[array]]` header line, or null. */
function headerPath(line: string): string[] | null {
  const m = /^\s*\[\[?\s*(.+?)\s*\]\]?\s*(#.*)?$/.exec(line);
  if (!m) return null;
  const parts: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*(\.|$)/y;
  let pos = 0;
  const src = m[1];
  while (pos < src.length) {
    re.lastIndex = pos;
    const k = re.exec(src);
    if (!k) return null;
    parts.push(k[1] !== undefined ? JSON.parse(`"${k[1]}"`) : k[2] ?? k[3]);
    pos = re.lastIndex;
    if (k[4] === "") break;
  }
  return parts;
}

function parseTomlText(text: string, file: string): Obj {
  try {
    return parseToml(text) as Obj;
  } catch (e) {
    throw new AgentConfigError(
      file,
      `is not valid TOML (${(e as Error).message.split("\n")[0]}); fix it, then run this again`,
    );
  }
}

function tomlServers(root: Obj, file: string): Obj | undefined {
  const s = root.mcp_servers;
  if (s !== undefined && !isObj(s)) throw new AgentConfigError(file, "mcp_servers is not a table");
  return s;
}

/** Removes the `[mcp_servers.<name>]` block (and its sub-tables) from the text. */
function withoutBlock(text: string, name: string): string {
  const lines = text.split("\n");
  const out: string[] = [];
  let inBlock = false;
  for (const line of lines) {
    const path = headerPath(line);
    if (path) inBlock = path.length >= 2 && path[0] === "mcp_servers" && path[1] === name;
    if (!inBlock) out.push(line);
  }
  return out.join("\n").replace(/\n{3,}/g, "\n\n").replace(/\n*$/, "\n");
}

/** `root` without `mcp_servers[name]` (and without an emptied `mcp_servers`). */
function normalised(root: Obj, name: string): Obj {
  const copy = structuredClone(root);
  const s = copy.mcp_servers;
  if (isObj(s)) {
    delete s[name];
    if (Object.keys(s).length === 0) delete copy.mcp_servers;
  }
  return copy;
}

function tomlEdit(
  text: string,
  name: string,
  entry: Obj | undefined,
  file: string,
): EditResult {
  const before = parseTomlText(text, file);
  const previous = tomlServers(before, file)?.[name];
  if (sameData(previous, entry)) return { text, changed: false, previous };
  let next = withoutBlock(text, name);
  if (entry) {
    const block = stringifyToml({ mcp_servers: { [name]: entry } }).trim();
    next = `${next.trim() === "" ? "" : `${next.replace(/\n*$/, "\n")}\n`}${block}\n`;
  }
  let proven = false;
  try {
    const after = parseToml(next) as Obj;
    proven = sameData(normalised(after, name), normalised(before, name)) &&
      sameData((after.mcp_servers as Obj | undefined)?.[name], entry);
  } catch { /* not provable: fall back below */ }
  if (proven) return { text: next, changed: true, previous };
  const whole = structuredClone(before);
  const servers = { ...(tomlServers(whole, file) ?? {}) };
  if (entry) servers[name] = entry;
  else delete servers[name];
  whole.mcp_servers = servers;
  return { text: stringifyToml(whole) + "\n", changed: true, previous, reformatted: true };
}

/** Adds or replaces `[mcp_servers.<name>]` in a Codex `config.toml` (`text` null: new file). */
export function setTomlServer(
  text: string | null,
  name: string,
  entry: Obj,
  file = "config.toml",
): EditResult {
  const r = tomlEdit(text ?? "", name, entry, file);
  return text === null ? { ...r, changed: true } : r;
}

/** Removes `[mcp_servers.<name>]` from a Codex `config.toml` (no change when absent). */
export function removeTomlServer(
  text: string | null,
  name: string,
  file = "config.toml",
): EditResult {
  if (text === null) return { text: "", changed: false, previous: undefined };
  return tomlEdit(text, name, undefined, file);
}

/** Reads `mcp_servers[name]` from a Codex `config.toml`. */
export function getTomlServer(text: string | null, name: string, file = "config.toml"): unknown {
  if (text === null) return undefined;
  return tomlServers(parseTomlText(text, file), file)?.[name];
}
