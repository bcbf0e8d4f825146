/**
 * Quoting for service files: Windows arguments survive the `CommandLineToArgvW` split, systemd
 * words escape `%` and `$`, XML text escapes markup.
 */
import assert from "node:assert/strict";
import {
  systemdEnvAssignment,
  systemdExecArg,
  windowsArg,
  windowsCommandLine,
  xmlText,
} from "../../src/service/quote.ts";

/** The MSVC / CommandLineToArgvW splitting rules (for arguments after the program name). */
function splitWindows(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === " " || line[i] === "\t") i++;
    if (i >= line.length) break;
    let arg = "";
    let quoted = false;
    for (; i < line.length; i++) {
      const ch = line[i];
      if (ch === "\\") {
        let n = 0;
        while (line[i] === "\\") {
          n++;
          i++;
        }
        if (line[i] === '"') {
          arg += "\\".repeat(Math.floor(n / 2));
          if (n % 2 === 1) arg += '"';
          else quoted = !quoted;
        } else {
          arg += "\\".repeat(n);
          i--;
        }
        continue;
      }
      if (ch === '"') {
        quoted = !quoted;
        continue;
      }
      if (!quoted && (ch === " " || ch === "\t")) break;
      arg += ch;
    }
    args.push(arg);
  }
  return args;
}

Deno.test("windowsArg: every tricky argument splits back to itself", () => {
  const cases = [
    "daemon",
    "C:\\Program Files\\cmesh\\cmesh.exe",
    "",
    'say "hi"',
    "trailing\\",
    "trailing space\\",
    'a\\"b',
    "\\\\server\\share\\dir with space\\",
    "--config=C:\\Users\\Ann Lee\\config.toml",
  ];
  for (const c of cases) assert.deepEqual(splitWindows(windowsArg(c)), [c], JSON.stringify(c));
  assert.deepEqual(splitWindows(windowsCommandLine(cases)), cases);
  assert.equal(windowsArg("daemon"), "daemon", "plain words stay unquoted");
});

Deno.test("systemdExecArg: % and $ are doubled, spaces and quotes are quoted", () => {
  assert.equal(systemdExecArg("/usr/bin/cmesh"), "/usr/bin/cmesh");
  assert.equal(systemdExecArg("--allow-read"), "--allow-read");
  assert.equal(systemdExecArg("/opt/my tools/cmesh"), '"/opt/my tools/cmesh"');
  assert.equal(systemdExecArg("/srv/100%/x"), "/srv/100%%/x");
  assert.equal(systemdExecArg("/srv/$HOME"), "/srv/$$HOME");
  assert.equal(systemdExecArg("/srv/$x/cmesh", { program: true }), "/srv/$x/cmesh");
  assert.equal(systemdExecArg('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(systemdExecArg(""), '""');
  assert.throws(() => systemdExecArg("a\nb"), /control character/);
});

Deno.test("systemdEnvAssignment: always quoted; % doubled; $ kept (no expansion there)", () => {
  assert.equal(systemdEnvAssignment("PATH", "/usr/bin:/bin"), '"PATH=/usr/bin:/bin"');
  assert.equal(systemdEnvAssignment("CMESH_HOME", "/a b/50%"), '"CMESH_HOME=/a b/50%%"');
  assert.equal(systemdEnvAssignment("X", "$y"), '"X=$y"');
  assert.throws(() => systemdEnvAssignment("1X", "v"), /bad variable name/);
});

Deno.test("xmlText escapes markup and refuses what XML 1.0 cannot hold", () => {
  assert.equal(xmlText(`a<b>&"c'`), "a&lt;b&gt;&amp;&quot;c&apos;");
  assert.throws(() => xmlText("a\x01b"), /XML 1.0/);
});
