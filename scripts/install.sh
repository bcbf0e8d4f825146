#!/bin/sh
# cmesh installer for Linux and macOS (x86_64 and arm64).
#
#   curl -fsSL https://github.com/cmesh-dev/cmesh/releases/latest/download/install.sh | sh
#
# It downloads the release archive for this OS/architecture and the release's SHA256SUMS,
# refuses to install unless the archive's SHA-256 matches and the binary in it answers
# `cmesh version --json` with name "cmesh" and the requested version (run from a staged copy,
# before anything is replaced: otherwise the previous cmesh stays as it was), puts `cmesh` in a
# user bin directory (no sudo), and then runs `cmesh install-mcp` to register cmesh's MCP
# server with the coding agents it finds (Claude Code, Codex, Gemini CLI, Cursor, Claude Desktop).
# Running it again is safe: an identical binary and existing registrations are left alone.
#
# Environment:
#   CMESH_VERSION            version to install, e.g. 0.1.0 (default: the latest release)
#   CMESH_RELEASE_BASE_URL   releases root (default https://github.com/cmesh-dev/cmesh/releases);
#                            files come from <root>/download/v<version>/ or <root>/latest/download/
#   CMESH_INSTALL_DIR        where the binary goes (default: ~/.local/bin)
#   CMESH_NO_MCP=1           skip `cmesh install-mcp`
set -eu

BASE_URL="${CMESH_RELEASE_BASE_URL:-https://github.com/cmesh-dev/cmesh/releases}"
BASE_URL="${BASE_URL%/}"
VERSION="${CMESH_VERSION:-latest}"
VERSION="${VERSION#v}"
INSTALL_DIR="${CMESH_INSTALL_DIR:-${HOME:?HOME is not set}/.local/bin}"

say() { printf 'cmesh-install: %s\n' "$*"; }
die() {
  printf 'cmesh-install: error: %s\n' "$*" >&2
  exit 1
}

# The release target (as `deno compile --target` names it) for this machine.
detect_target() {
  os=$(uname -s)
  arch=$(uname -m)
  case "$os" in
    Linux) os_part=unknown-linux-gnu ;;
    Darwin) os_part=apple-darwin ;;
    *) die "unsupported operating system: $os (release builds exist for Linux and macOS; on Windows use install.ps1)" ;;
  esac
  case "$arch" in
    x86_64 | amd64) arch_part=x86_64 ;;
    aarch64 | arm64) arch_part=aarch64 ;;
    *) die "unsupported architecture: $arch (release builds exist for x86_64 and arm64/aarch64)" ;;
  esac
  if [ "$os_part" = apple-darwin ] && [ "$arch_part" = x86_64 ] &&
    [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || echo 0)" = 1 ]; then
    arch_part=aarch64 # an x86_64 shell under Rosetta on Apple silicon: install the native build
  fi
  if [ "$os_part" = unknown-linux-gnu ] && ls /lib/ld-musl-* >/dev/null 2>&1 &&
    ! ls /lib*/ld-linux* /lib/*/ld-linux* >/dev/null 2>&1; then
    die "this looks like a musl system (e.g. Alpine): the Linux build needs glibc"
  fi
  printf '%s-%s\n' "$arch_part" "$os_part"
}

fetch() { # url destination
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 -o "$2" "$1" || die "download failed: $1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" || die "download failed: $1"
  else
    die "need curl or wget to download"
  fi
}

# Chosen before any download, so a missing tool is reported as such (not as a mismatch).
if command -v sha256sum >/dev/null 2>&1; then
  SHA256="sha256sum"
elif command -v shasum >/dev/null 2>&1; then
  SHA256="shasum -a 256"
elif command -v openssl >/dev/null 2>&1; then
  SHA256="openssl"
else
  die "need sha256sum, shasum or openssl to verify the download"
fi

sha256_of() {
  if [ "$SHA256" = openssl ]; then
    openssl dgst -sha256 "$1" | sed 's/^.*= *//'
  else
    $SHA256 "$1" | cut -d ' ' -f 1
  fi
}

TARGET=$(detect_target)
ARCHIVE="cmesh-$TARGET.tar.gz"
if [ "$VERSION" = latest ]; then
  DIR_URL="$BASE_URL/latest/download"
else
  DIR_URL="$BASE_URL/download/v$VERSION"
fi
case "$DIR_URL" in
  https://* | http://127.0.0.1[:/]* | http://localhost[:/]*) ;;
  *) say "warning: $DIR_URL is not https: the download and its checksum are not protected in transit" ;;
esac

TMP=$(mktemp -d 2>/dev/null || mktemp -d -t cmesh-install)
trap 'rm -rf "$TMP"' EXIT INT TERM

say "downloading $ARCHIVE ($VERSION) from $DIR_URL"
fetch "$DIR_URL/$ARCHIVE" "$TMP/$ARCHIVE"
fetch "$DIR_URL/SHA256SUMS" "$TMP/SHA256SUMS"

expected=$(awk -v f="$ARCHIVE" '$2 == f || $2 == "*" f { print tolower($1); exit }' "$TMP/SHA256SUMS")
[ -n "$expected" ] || die "SHA256SUMS has no entry for $ARCHIVE: refusing to install"
actual=$(sha256_of "$TMP/$ARCHIVE" | tr 'A-F' 'a-f')
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for $ARCHIVE: expected $expected, got $actual. Refusing to install (the download is damaged or was tampered with)"
fi
say "checksum verified ($actual)"

mkdir -p "$TMP/x"
tar -xzf "$TMP/$ARCHIVE" -C "$TMP/x" || die "cannot unpack $ARCHIVE"
[ -f "$TMP/x/cmesh" ] || die "$ARCHIVE does not contain cmesh"

mkdir -p "$INSTALL_DIR" || die "cannot create $INSTALL_DIR"
BIN="$INSTALL_DIR/cmesh"
# Staged next to the target (same file system for an atomic rename; /tmp may be noexec).
STAGED="$INSTALL_DIR/.cmesh.new.$$"
trap 'rm -rf "$TMP"; rm -f "$STAGED"' EXIT INT TERM
cp "$TMP/x/cmesh" "$STAGED" || die "cannot write to $INSTALL_DIR"
chmod 755 "$STAGED"

# Is it cmesh, and the version asked for? A checksum only proves the download is the file the
# release lists; a release built wrong (e.g. `deno compile` with DENORT_BIN set to a full deno
# yields the Deno CLI, which answers --version) must not replace a working cmesh.
refuse() {
  rm -f "$STAGED"
  if [ -f "$BIN" ]; then
    die "$1. Refusing to install: $BIN was left as it was"
  fi
  die "$1. Refusing to install: nothing was installed"
}
if ! "$STAGED" version --json </dev/null >"$TMP/version.json" 2>"$TMP/version.err"; then
  why=$(cat "$TMP/version.err" "$TMP/version.json" | head -n 3 | tr '\n' ' ' | cut -c 1-300)
  refuse "the program in $ARCHIVE is not cmesh: 'cmesh version --json' failed${why:+ ($why)}"
fi
version_json=$(tr -d ' \t\r\n' <"$TMP/version.json")
case "$version_json" in
  *'"name":"cmesh"'*) ;;
  *) refuse "the program in $ARCHIVE is not cmesh: 'cmesh version --json' did not say \"name\": \"cmesh\" (it printed: $(cut -c 1-200 "$TMP/version.json" | head -n 3 | tr '\n' ' '))" ;;
esac
got=$(printf '%s\n' "$version_json" | sed -n 's/.*"version":"\([^"]*\)".*/\1/p')
[ -n "$got" ] || refuse "the cmesh in $ARCHIVE does not report its version"
if [ "$VERSION" != latest ] && [ "$got" != "$VERSION" ]; then
  refuse "the release v$VERSION holds cmesh $got, not $VERSION"
fi

if [ -f "$BIN" ] && cmp -s "$STAGED" "$BIN"; then
  rm -f "$STAGED"
  say "$BIN is already this build"
else
  mv -f "$STAGED" "$BIN" || refuse "cannot move the new cmesh into place"
  say "installed $BIN"
fi
say "cmesh $got (checked with 'cmesh version --json')"

case ":${PATH:-}:" in
  *":$INSTALL_DIR:"*) ;;
  *)
    user_shell="${SHELL:-}"
    case "$user_shell" in
      */zsh) rc="$HOME/.zshrc" ;;
      */bash) rc="$HOME/.bashrc" ;;
      *) rc="$HOME/.profile" ;;
    esac
    say "$INSTALL_DIR is not on your PATH. Add it with:"
    if [ "${user_shell##*/}" = fish ]; then
      say "  fish_add_path $INSTALL_DIR"
    else
      say "  echo 'export PATH=\"$INSTALL_DIR:\$PATH\"' >> $rc && . $rc"
    fi
    ;;
esac

if [ "${CMESH_NO_MCP:-}" = 1 ]; then
  say "skipping MCP registration (CMESH_NO_MCP=1); run '$BIN install-mcp' later"
else
  say "registering the cmesh MCP server with your coding agents"
  if ! "$BIN" install-mcp --command "$BIN"; then
    die "cmesh is installed, but 'cmesh install-mcp' failed (see above); fix it and run '$BIN install-mcp' again"
  fi
fi
say "done. Next: open your coding agent and say \"help me set up cmesh\", or run 'cmesh doctor'."
