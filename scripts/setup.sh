#!/usr/bin/env bash
# Puts the lean flightline binary on PATH for the rest of the job.
#
#   setup.sh key       print key=<hash> (GITHUB_OUTPUT in Actions): the cache key of this source tree
#   setup.sh install   build the binary once per source tree (cached) and add it to GITHUB_PATH
#
# The binary is built from this checkout of the action (never downloaded), with the local Go
# toolchain (GOTOOLCHAIN=local) and -tags lean (no scrape metrics provider). It lives in
# $FLIGHTLINE_CACHE/bin/<key>/ (default ~/.cache/flightline), so a second use in the same job,
# and any job that restores that directory from the Actions cache, builds nothing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${FLIGHTLINE_CACHE:-$HOME/.cache/flightline}"

source_key() {
  # Everything that goes into the lean binary: module files, non-test Go sources, and the ref.
  (
    cd "$root"
    printf 'ref=%s\n' "${GITHUB_ACTION_REF:-}"
    find go.mod go.sum cmd pkg internal -type f \( -name '*.go' ! -name '*_test.go' -o -name 'go.mod' -o -name 'go.sum' \) \
      ! -path '*/testdata/*' -print0 2>/dev/null | LC_ALL=C sort -z | xargs -0 sha256sum
  ) | sha256sum | cut -c1-24
}

key="$(source_key)"

case "${1:-install}" in
key)
  if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "key=$key" >>"$GITHUB_OUTPUT"; else echo "key=$key"; fi
  exit 0
  ;;
install) ;;
*)
  echo "setup.sh: unknown mode '$1' (want: key or install)" >&2
  exit 2
  ;;
esac

dir="$cache/bin/$key"
bin="$dir/flightline"
if [ "${FLIGHTLINE_SETUP_KEY:-}" = "$key" ] && [ -x "$bin" ]; then
  echo "flightline: already set up in this job ($bin)"
  exit 0
fi

if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "::error title=flightline set-up::Go is not installed: the set-up needs Go (actions/setup-go) to build flightline" >&2; exit 1; }
  mkdir -p "$dir"
  start=$(date +%s)
  tmp="$(mktemp "$dir/.flightline.XXXXXX")"
  (
    cd "$root"
    export GOTOOLCHAIN=local CGO_ENABLED=0
    export GOCACHE="${GOCACHE:-$cache/go-build}" GOMODCACHE="${GOMODCACHE:-$cache/go-mod}"
    go build -tags lean -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${GITHUB_ACTION_REF:-dev}" -o "$tmp" ./cmd/flightline
  )
  mv -f "$tmp" "$bin"
  echo "flightline: built $bin in $(($(date +%s) - start))s"
else
  echo "flightline: reusing $bin"
fi

if [ -n "${GITHUB_PATH:-}" ]; then echo "$dir" >>"$GITHUB_PATH"; fi
if [ -n "${GITHUB_ENV:-}" ]; then
  echo "FLIGHTLINE_SETUP_KEY=$key" >>"$GITHUB_ENV"
  echo "FLIGHTLINE_BIN=$bin" >>"$GITHUB_ENV"
fi
if [ -z "${GITHUB_PATH:-}" ]; then echo "$bin"; fi
