# cmesh installer for Windows (x86_64; arm64 runs the x86_64 build under emulation).
#
#   irm https://github.com/cmesh-dev/cmesh/releases/latest/download/install.ps1 | iex
#
# Downloads cmesh-x86_64-pc-windows-msvc.zip and the release's SHA256SUMS, refuses to install
# unless the SHA-256 matches and the program in it answers `cmesh version --json` with name
# "cmesh" and the requested version (run from a staged copy before anything is replaced, so a
# refused download leaves the previous cmesh.exe as it was; the same checks as install.sh),
# puts cmesh.exe in a per-user directory (no admin rights), then runs `cmesh install-mcp` to
# register cmesh's MCP server with the coding agents it finds.
# Running it again is safe.
#
# Environment:
#   CMESH_VERSION            version to install, e.g. 0.1.0 (default: the latest release)
#   CMESH_RELEASE_BASE_URL   releases root (default https://github.com/cmesh-dev/cmesh/releases);
#                            files come from <root>/download/v<version>/ or <root>/latest/download/
#   CMESH_INSTALL_DIR        where cmesh.exe goes (default: %LOCALAPPDATA%\Programs\cmesh)
#   CMESH_NO_MCP=1           skip `cmesh install-mcp`
#
# Everything runs inside a function, so `irm ... | iex` leaves the caller's session as it was
# (no `exit`, no changed preferences): a failure is a terminating error with the reason.
#Requires -Version 5.1

function Install-Cmesh {
  $ErrorActionPreference = 'Stop'

  function Say([string]$Message) { Write-Host "cmesh-install: $Message" }
  function Fail([string]$Message) { throw "cmesh-install: error: $Message" }

  $Base = if ($env:CMESH_RELEASE_BASE_URL) { $env:CMESH_RELEASE_BASE_URL.TrimEnd('/') } else { 'https://github.com/cmesh-dev/cmesh/releases' }
  $Version = if ($env:CMESH_VERSION) { $env:CMESH_VERSION.TrimStart('v') } else { 'latest' }
  $InstallDir = if ($env:CMESH_INSTALL_DIR) { $env:CMESH_INSTALL_DIR } else { Join-Path $env:LOCALAPPDATA 'Programs\cmesh' }

  # Architecture of the OS (not of this PowerShell process, which may be 32-bit).
  $Arch = if ($env:PROCESSOR_ARCHITEW6432) { $env:PROCESSOR_ARCHITEW6432 } else { $env:PROCESSOR_ARCHITECTURE }
  switch ($Arch) {
    'AMD64' { $Target = 'x86_64-pc-windows-msvc' }
    'ARM64' { $Target = 'x86_64-pc-windows-msvc'; Say 'ARM64 Windows: installing the x86_64 build (runs under emulation)' }
    default { Fail "unsupported architecture: $Arch (release builds exist for x86_64)" }
  }
  $Archive = "cmesh-$Target.zip"
  $DirUrl = if ($Version -eq 'latest') { "$Base/latest/download" } else { "$Base/download/v$Version" }
  if ($DirUrl -notmatch '^(https://|http://(127\.0\.0\.1|localhost)[:/])') {
    Say "warning: $DirUrl is not https: the download and its checksum are not protected in transit"
  }

  # PowerShell 5.1 defaults to old TLS versions.
  try { [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12 } catch { }

  $Tmp = Join-Path ([IO.Path]::GetTempPath()) ("cmesh-install-" + [Guid]::NewGuid().ToString('N'))
  New-Item -ItemType Directory -Path $Tmp | Out-Null
  try {
    Say "downloading $Archive ($Version) from $DirUrl"
    try {
      Invoke-WebRequest -UseBasicParsing -Uri "$DirUrl/$Archive" -OutFile (Join-Path $Tmp $Archive)
      Invoke-WebRequest -UseBasicParsing -Uri "$DirUrl/SHA256SUMS" -OutFile (Join-Path $Tmp 'SHA256SUMS')
    } catch {
      Fail "download failed: $($_.Exception.Message)"
    }

    $Expected = $null
    foreach ($line in Get-Content (Join-Path $Tmp 'SHA256SUMS')) {
      $parts = $line -split '\s+', 2
      if ($parts.Count -eq 2 -and ($parts[1] -eq $Archive -or $parts[1] -eq "*$Archive")) {
        $Expected = $parts[0].ToLowerInvariant()
        break
      }
    }
    if (-not $Expected) { Fail "SHA256SUMS has no entry for ${Archive}: refusing to install" }
    $Actual = (Get-FileHash -Algorithm SHA256 -Path (Join-Path $Tmp $Archive)).Hash.ToLowerInvariant()
    if ($Actual -ne $Expected) {
      Fail "checksum mismatch for ${Archive}: expected $Expected, got $Actual. Refusing to install (the download is damaged or was tampered with)"
    }
    Say "checksum verified ($Actual)"

    $Unpacked = Join-Path $Tmp 'x'
    Expand-Archive -Path (Join-Path $Tmp $Archive) -DestinationPath $Unpacked -Force
    $NewExe = Join-Path $Unpacked 'cmesh.exe'
    if (-not (Test-Path $NewExe)) { Fail "$Archive does not contain cmesh.exe" }

    New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
    $Exe = Join-Path $InstallDir 'cmesh.exe'

    # Is it cmesh, and the version asked for? (as in install.sh) A checksum only proves the
    # download is the file the release lists; a release built wrong (deno compile with
    # DENORT_BIN set to a full deno yields the Deno CLI, which answers --version) must not
    # replace a working cmesh. The unpacked copy in $Tmp is run; nothing is replaced yet.
    function Refuse([string]$Why) {
      if (Test-Path $Exe) { Fail "$Why. Refusing to install: $Exe was left as it was" }
      Fail "$Why. Refusing to install: nothing was installed"
    }
    $VersionOut = $null
    try {
      $VersionOut = (& $NewExe version --json 2>&1 | Out-String)
      $VersionCode = $LASTEXITCODE
    } catch {
      Refuse "the program in $Archive is not cmesh: 'cmesh version --json' could not run ($($_.Exception.Message))"
    }
    if ($VersionCode -ne 0) {
      $Why = ($VersionOut -split "`n" | Select-Object -First 3) -join ' '
      Refuse "the program in $Archive is not cmesh: 'cmesh version --json' failed ($Why)"
    }
    $VersionJson = $VersionOut -replace '\s', ''
    if ($VersionJson -notmatch '"name":"cmesh"') {
      Refuse "the program in $Archive is not cmesh: 'cmesh version --json' did not say `"name`": `"cmesh`""
    }
    $Got = if ($VersionJson -match '"version":"([^"]+)"') { $Matches[1] } else { $null }
    if (-not $Got) { Refuse "the cmesh in $Archive does not report its version" }
    if ($Version -ne 'latest' -and $Got -ne $Version) {
      Refuse "the release v$Version holds cmesh $Got, not $Version"
    }

    $Same = (Test-Path $Exe) -and ((Get-FileHash -Algorithm SHA256 $Exe).Hash -eq (Get-FileHash -Algorithm SHA256 $NewExe).Hash)
    if ($Same) {
      Say "$Exe is already this build"
    } else {
      try {
        Copy-Item -Force $NewExe $Exe
      } catch {
        Fail "cannot replace ${Exe}: is cmesh running? Stop it (cmesh service uninstall, or close 'cmesh daemon') and run this again"
      }
      Say "installed $Exe"
    }
    Say "cmesh $Got (checked with 'cmesh version --json')"

    $UserPath = [Environment]::GetEnvironmentVariable('Path', 'User')
    if (-not (($UserPath -split ';') -contains $InstallDir)) {
      Say "$InstallDir is not on your PATH. Add it (then open a new terminal) with:"
      Say "  [Environment]::SetEnvironmentVariable('Path', [Environment]::GetEnvironmentVariable('Path', 'User') + ';$InstallDir', 'User')"
    }

    if ($env:CMESH_NO_MCP -eq '1') {
      Say "skipping MCP registration (CMESH_NO_MCP=1); run '$Exe install-mcp' later"
    } else {
      Say 'registering the cmesh MCP server with your coding agents'
      & $Exe install-mcp --command $Exe
      if ($LASTEXITCODE -ne 0) {
        Fail "cmesh is installed, but 'cmesh install-mcp' failed (see above); fix it and run '$Exe install-mcp' again"
      }
    }
    Say "done. Next: open your coding agent and say `"help me set up cmesh`", or run 'cmesh doctor'."
  } finally {
    Remove-Item -Recurse -Force $Tmp -ErrorAction SilentlyContinue
  }
}

Install-Cmesh
