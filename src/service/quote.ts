/**
 * @module
 * Quoting for the three service formats: systemd unit lines, XML text (launchd plists and
 * Task Scheduler definitions) and Windows command lines. Pure; a path with spaces, `%`, `$`,
 * quotes or backslashes must reach the daemon unchanged.
 *
 * @example
 * ```ts
 * import { systemdExecArg, windowsArg, xmlText } from "./quote.ts";
 * systemdExecArg("/opt/my tools/cmesh"); // "\"/opt/my tools/cmesh\""
 * windowsArg("C:\\Program Files\\cmesh.exe"); // "\"C:\\Program Files\\cmesh.exe\""
 * xmlText("a<b&c"); // "a&lt;b&amp;c"
 * ```
 */

function refuseControl(value: string, where: string): void {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value)) {
    throw new Error(`${where}: ${JSON.stringify(value)} contains a control character`);
  }
}

/**
 * One word of a systemd `ExecStart=` line. `%` starts a specifier in every word, and `$` a
 * variable expansion in the arguments (not in the program path, which systemd takes as
 * written), so those are doubled; a word with whitespace, quotes or backslashes is
 * double-quoted with C-style escapes.
 */
export function systemdExecArg(word: string, opts: { program?: boolean } = {}): string {
  refuseControl(word, "ExecStart");
  const specifiers = word.replaceAll("%", "%%");
  const escaped = opts.program ? specifiers : specifiers.replaceAll("$", "$$$$");
  if (word !== "" && !/[\s"'\\;]/.test(word)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/**
 * One `Environment=` assignment, always quoted. Specifiers (`%`) are expanded there too;
 * `$` is not (systemd does no variable expansion in `Environment=`).
 */
export function systemdEnvAssignment(name: string, value: string): string {
  refuseControl(value, `Environment ${name}`);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`bad variable name ${name}`);
  const v = `${name}=${value}`.replaceAll("%", "%%").replaceAll("\\", "\\\\").replaceAll(
    '"',
    '\\"',
  );
  return `"${v}"`;
}

/** A path in a systemd directive that takes one path (`%` doubled). */
export function systemdPath(path: string): string {
  refuseControl(path, "path");
  return path.replaceAll("%", "%%");
}

/** Text content or attribute value for XML. */
export function xmlText(value: string): string {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f]/.test(value)) {
    throw new Error(`${JSON.stringify(value)} cannot be written in XML 1.0`);
  }
  return value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&apos;");
}

/**
 * One argument for a Windows command line, quoted so `CommandLineToArgvW` (and the Deno/Rust
 * runtime) splits it back to exactly `arg`: backslashes are literal except before a quote.
 */
export function windowsArg(arg: string): string {
  refuseControl(arg, "argument");
  if (arg !== "" && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let slashes = 0;
  for (const ch of arg) {
    if (ch === "\\") {
      slashes++;
      continue;
    }
    if (ch === '"') {
      out += "\\".repeat(slashes * 2 + 1) + '"';
    } else {
      out += "\\".repeat(slashes) + ch;
    }
    slashes = 0;
  }
  return out + "\\".repeat(slashes * 2) + '"';
}

/** A whole Windows command line from arguments. */
export function windowsCommandLine(args: string[]): string {
  return args.map(windowsArg).join(" ");
}
