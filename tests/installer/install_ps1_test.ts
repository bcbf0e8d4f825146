/**
 * scripts/install.ps1 cannot run here (no PowerShell on the development machines; the release
 * workflow's Windows smoke job runs it for real). So its text is checked: it mirrors install.sh
 * in running `cmesh version --json` on the unpacked copy before anything is replaced, requiring
 * name "cmesh" and the requested version, with the same refusal messages; and the old
 * `--version` check (which the Deno CLI passes) is gone from both installers.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../support/daemon.ts";

const PS1 = await Deno.readTextFile(join(REPO_ROOT, "scripts", "install.ps1"));
const SH = await Deno.readTextFile(join(REPO_ROOT, "scripts", "install.sh"));

/** Index of `needle` in `text`; fails the test when it is missing. */
function at(text: string, needle: string): number {
  const i = text.indexOf(needle);
  assert.ok(i >= 0, `missing: ${needle}`);
  return i;
}

Deno.test("install.ps1 runs `version --json` on the unpacked copy before it replaces cmesh.exe", () => {
  const check = at(PS1, "& $NewExe version --json");
  assert.ok(check < at(PS1, "Copy-Item -Force $NewExe $Exe"), "checked before the copy");
  assert.ok(at(PS1, 'Fail "checksum mismatch') < check, "after the checksum");
  assert.ok(at(PS1, `-notmatch '"name":"cmesh"'`) > check);
  assert.ok(at(PS1, `'"version":"([^"]+)"'`) > check);
  // The requested version (unless "latest") must equal the one the binary reports.
  at(PS1, "if ($Version -ne 'latest' -and $Got -ne $Version)");
});

Deno.test("install.ps1 and install.sh refuse with the same words and keep the old binary", () => {
  for (
    const words of [
      "is not cmesh: 'cmesh version --json' failed",
      "did not say",
      "holds cmesh $Got, not $Version",
      "was left as it was",
      "nothing was installed",
      "(checked with 'cmesh version --json')",
    ]
  ) {
    at(PS1, words);
    at(SH, words.replace("$Got", "$got").replace("$Version", "$VERSION"));
  }
});

Deno.test("neither installer trusts `--version` (the Deno CLI answers it too)", () => {
  assert.doesNotMatch(PS1, /& \$(New)?Exe --version/);
  assert.doesNotMatch(SH, /"\$(BIN|STAGED)" --version/);
});
