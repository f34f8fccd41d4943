#!/usr/bin/env bash
# Puts the lean flightline binary on PATH for the rest of the job: the set-up step of action.yml
# and of every actions/*/action.yml.
#
#   setup.sh [install]
#
# Where the binary comes from, decided from this action's own tree (a SHA-pinned `uses:` has no
# tag to go by):
#
#  - A release: when release/SHA256SUMS lists the lean asset for this runner and the tree's digest
#    (scripts/release.sh digest) is the one in release/source.sha256, so the tree is exactly the
#    source of that release. The asset is downloaded with scripts/fetch-verified.sh and verified
#    against the hash committed in release/SHA256SUMS. A bad hash or a missing asset stops the
#    job; set FLIGHTLINE_BUILD_FROM_SOURCE=true to build from the action's source instead.
#  - Otherwise (a branch, an unreleased commit, a platform without an asset) it builds the binary
#    from the action's source with scripts/release.sh binary: the Go of release/go-version,
#    fetched by the go command itself (GOTOOLCHAIN, checked against the Go checksum database),
#    whichever Go >= 1.21 is on PATH. That Go is only the launcher: the toolchain the job's other
#    steps see (PATH, GOROOT, GOTOOLCHAIN, go env) is left as it was.
#
# Nothing is taken from the Actions cache: the binary receives the platform token, and an Actions
# cache entry can be written by any workflow run of the consumer repository. A release binary is
# always checked against the tree's hash, also on a second use in the job. A source build keeps
# its Go build and module caches private to the job ($RUNNER_TEMP/flightline, emptied by the
# runner at the start and end of every job), never the user's caches, which setup-go may have
# restored from the Actions cache.
#
# Environment: FLIGHTLINE_RELEASE_BASE_URL (default
# https://github.com/labrats-work/flightline/releases/download; a mirror serves
# BASE/VERSION/ASSET), FLIGHTLINE_BUILD_FROM_SOURCE=true, FLIGHTLINE_HOME (where the set-up keeps
# its files; default $RUNNER_TEMP/flightline, or ~/.cache/flightline/setup outside Actions).
set -euo pipefail
export LC_ALL=C

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scripts="$root/scripts"
me="flightline set-up"

now() { printf '%s\n' "${EPOCHREALTIME:-$SECONDS}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2fs", b - a }'; }
start="$(now)"

fail() {
  if [ "${GITHUB_ACTIONS:-}" = "true" ]; then echo "::error title=$me::$*" >&2; else echo "$me: $*" >&2; fi
  exit 1
}

case "${1:-install}" in
install) ;;
*)
  echo "setup.sh: unknown mode '$1' (want: install)" >&2
  exit 2
  ;;
esac

# The runner's platform, as Go names it.
case "${RUNNER_OS:-$(uname -s)}" in
Linux) os=linux ;;
macOS | Darwin) os=darwin ;;
Windows | MINGW* | MSYS* | CYGWIN*) os=windows ;;
*) fail "unsupported runner OS '${RUNNER_OS:-$(uname -s)}'" ;;
esac
case "${RUNNER_ARCH:-$(uname -m)}" in
X64 | x86_64 | amd64) arch=amd64 ;;
ARM64 | aarch64 | arm64) arch=arm64 ;;
*) fail "unsupported runner architecture '${RUNNER_ARCH:-$(uname -m)}'" ;;
esac
exe=""
[ "$os" = windows ] && exe=.exe

if [ -n "${FLIGHTLINE_HOME:-}" ]; then
  home="$FLIGHTLINE_HOME"
elif [ -n "${RUNNER_TEMP:-}" ]; then
  home="$RUNNER_TEMP/flightline"
else
  home="${FLIGHTLINE_CACHE:-$HOME/.cache/flightline}/setup"
fi

# export_path DIR BIN SHA: PATH and environment for the job's later steps.
export_path() {
  local dir=$1 bin=$2 sum=$3
  if [ "$os" = windows ] && command -v cygpath >/dev/null 2>&1; then
    dir="$(cygpath -w "$dir")" bin="$(cygpath -w "$bin")"
  fi
  if [ -n "${GITHUB_PATH:-}" ]; then echo "$dir" >>"$GITHUB_PATH"; fi
  if [ -n "${GITHUB_ENV:-}" ]; then
    echo "FLIGHTLINE_BIN=$bin" >>"$GITHUB_ENV"
    echo "FLIGHTLINE_SHA256=$sum" >>"$GITHUB_ENV"
  fi
  if [ -z "${GITHUB_PATH:-}" ]; then echo "$bin"; fi
}

sha256_of() { "$scripts/release.sh" sha256 "$1" | cut -c1-64; }

# Does this tree hold a release for this runner?
asset="$("$scripts/release.sh" asset "$os" "$arch" lean)"
why=""
if [ "${FLIGHTLINE_BUILD_FROM_SOURCE:-}" = "true" ]; then
  why="FLIGHTLINE_BUILD_FROM_SOURCE=true"
elif [ ! -f "$root/release/SHA256SUMS" ] || [ ! -f "$root/release/source.sha256" ] || [ ! -f "$root/release/version" ]; then
  why="this tree holds no release (a branch or an unreleased commit)"
else
  want="$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1 }' "$root/release/SHA256SUMS")"
  version="$(tr -d ' \t\r\n' <"$root/release/version")"
  if [ -z "$want" ]; then
    why="release $version has no $asset"
  elif [ "$("$scripts/release.sh" digest)" != "$(tr -d ' \t\r\n' <"$root/release/source.sha256")" ]; then
    why="this tree's sources differ from release $version's (scripts/release.sh digest)"
  fi
fi

if [ -z "$why" ]; then
  # The release path: download (or find in place) and verify against the tree's hash.
  dir="$home/release/$version/${os}_$arch"
  bin="$dir/flightline$exe"
  base="${FLIGHTLINE_RELEASE_BASE_URL:-https://github.com/labrats-work/flightline/releases/download}"
  if [ -f "$bin" ] && [ "${FLIGHTLINE_BIN:-}" = "$bin" ] && [ "$(sha256_of "$bin")" = "$want" ]; then
    echo "flightline: already set up in this job ($bin, SHA-256 verified)"
    exit 0
  fi
  "$scripts/fetch-verified.sh" "${base%/}/$version/$asset" "$want" "$bin" 0755 ||
    fail "could not set up flightline $version from its release (above). A bad hash means the download is not the binary this tree was released with: do not retry blindly. To build from this action's source instead, set FLIGHTLINE_BUILD_FROM_SOURCE: true in the job's env."
  echo "flightline: $version ($asset) verified against release/SHA256SUMS and set up in $(since "$start")"
  export_path "$dir" "$bin" "$want"
  exit 0
fi

# The source path.
dir="$home/source"
bin="$dir/flightline$exe"
if [ -f "$bin" ] && [ "${FLIGHTLINE_BIN:-}" = "$bin" ] && [ -n "${FLIGHTLINE_SHA256:-}" ] &&
  [ "$(sha256_of "$bin")" = "$FLIGHTLINE_SHA256" ]; then
  echo "flightline: already set up in this job ($bin)"
  exit 0
fi
echo "flightline: building from the action's source: $why"
command -v go >/dev/null 2>&1 ||
  fail "no Go on PATH to build flightline from source ($why). Any Go >= 1.21 will do: it only launches go$(cat "$root/release/go-version"), which the set-up uses privately. Or pin a released version of Flightline."
mkdir -p "$dir"
tmp="$(mktemp "$dir/.flightline.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
(
  # Private caches, and checks the caller cannot switch off: the module and build caches the
  # user's steps use may come from the Actions cache.
  export GOCACHE="$home/go-build" GOMODCACHE="$home/go-mod" GOPATH="$home/go"
  if [ -z "${GOSUMDB:-}" ] || [ "$GOSUMDB" = off ]; then export GOSUMDB=sum.golang.org; fi
  export GONOSUMDB="" GONOSUMCHECK="" GOPRIVATE="" GOINSECURE="" GOFLAGS=""
  "$scripts/release.sh" binary "$os" "$arch" lean "${GITHUB_ACTION_REF:-dev}" "$tmp"
)
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
trap - EXIT
sum="$(sha256_of "$bin")"
echo "flightline: built $bin (go$(cat "$root/release/go-version"), lean) in $(since "$start")"
export_path "$dir" "$bin" "$sum"
