#!/usr/bin/env bash
# Builds the pinned tailscaled, tailscale and headscale (tests/tailnet/versions.env) with the Go
# toolchain on PATH into a cache directory, and reuses them when they are already there.
#
#   tests/tailnet/build_bins.sh            # builds if missing, prints the bin dir on the last line
#   CMESH_TAILNET_BIN=/some/dir tests/tailnet/build_bins.sh
#
# Default directory: ${XDG_CACHE_HOME:-$HOME/.cache}/cmesh-ci/tailnet-<tailscale>-<headscale>/bin
# (outside the repo, so CI's fresh clones on the same machine reuse it). Nothing of the
# Tailscale or headscale source is written into the repo.
#
# tailscale: `go install tailscale.com/cmd/{tailscaled,tailscale}@VERSION`.
# headscale: `go install ...@VERSION` does not work here: go install looks up the module's
# deprecation notice through its version list, which the module proxy refuses for
# github.com/juanfont/headscale (403), while the exact version is served. So the module is
# fetched with `go mod download` and built from the module cache with its own go.mod/go.sum.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
bin="${CMESH_TAILNET_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/cmesh-ci/tailnet-$TAILSCALE_VERSION-$HEADSCALE_VERSION/bin}"
if [ -x "$bin/tailscaled" ] && [ -x "$bin/tailscale" ] && [ -x "$bin/headscale" ]; then
  echo "tailnet binaries: reusing $bin" >&2
  echo "$bin"
  exit 0
fi
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null || { echo "tailnet binaries: no go on PATH; cannot build them" >&2; exit 3; }
mkdir -p "$bin"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}" GOTOOLCHAIN=local
start=$(date +%s)
echo "tailnet binaries: building tailscale.com $TAILSCALE_VERSION ($(go version | cut -d' ' -f3))" >&2
GOBIN="$tmp" go install "tailscale.com/cmd/tailscaled@$TAILSCALE_VERSION" \
  "tailscale.com/cmd/tailscale@$TAILSCALE_VERSION"
mid=$(date +%s)
echo "tailnet binaries: building headscale $HEADSCALE_VERSION" >&2
dir="$(go mod download -json "github.com/juanfont/headscale@$HEADSCALE_VERSION" |
  sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')"
[ -n "$dir" ] && [ -d "$dir" ] || { echo "tailnet binaries: go mod download gave no module dir" >&2; exit 1; }
(cd "$dir" && go build -trimpath -o "$tmp/headscale" ./cmd/headscale)
end=$(date +%s)
mv "$tmp/tailscaled" "$tmp/tailscale" "$tmp/headscale" "$bin/"
echo "tailnet binaries: built in $((end - start))s (tailscale $((mid - start))s, headscale $((end - mid))s) into $bin" >&2
echo "$bin"
