#!/usr/bin/env bash
# The release build of flightline: the same script on a maintainer's machine and in
# .github/workflows/release.yml, so that both give the same bytes.
#
#   release.sh digest                        print the SHA-256 of the build's inputs (see below)
#   release.sh binary OS ARCH EDITION VERSION OUT
#                                            build one binary with the release flags
#   release.sh build DIR                     build every asset into DIR and write DIR/SHA256SUMS
#   release.sh prepare VERSION               the release commit's content: write release/version,
#                                            build into dist/, write release/SHA256SUMS and
#                                            release/source.sha256 (then commit, tag, push)
#   release.sh verify DIR                    check DIR/SHA256SUMS against release/SHA256SUMS
#                                            and the tree's digest against release/source.sha256
#
# Reproducible: -trimpath, -buildvcs=false, CGO_ENABLED=0, -buildid=, no GOFLAGS/GOEXPERIMENT from
# the caller, fixed GOAMD64/GOARM64, and one exact Go toolchain: release/go-version, fetched by the
# go command itself (GOTOOLCHAIN=goX.Y.Z, checked against the Go checksum database) whatever Go
# runs the script. Two builds of one tree, in any directories, on any machine, are byte-identical
# (internal/acttest/release_test.go builds twice and compares).
#
# Assets: flightline_OS_ARCH (the full CLI, with the demo and the scrape metrics provider) and
# flightline-lean_OS_ARCH (-tags lean: what the actions run), .exe on windows, for
# linux, darwin, windows x amd64, arm64.
#
# The digest covers every file that can change a binary: go.mod, go.sum, release/version,
# release/go-version, this script, and every file under cmd/, pkg/ and internal/ except tests and
# testdata. release/SHA256SUMS and release/source.sha256 are outputs, never inputs, so the release
# commit can hold the hashes of its own binaries, and the set-up (scripts/setup.sh) downloads a
# release binary only for a tree whose digest is the one recorded.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
me="release.sh"

targets="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64"
editions="full lean"

die() {
  echo "$me: $*" >&2
  exit 1
}

# sha256 FILE...: "HASH  FILE" lines (or of stdin), with whichever tool the platform has.
if command -v sha256sum >/dev/null 2>&1; then
  sha256=(sha256sum)
elif command -v shasum >/dev/null 2>&1; then
  sha256=(shasum -a 256)
else
  die "neither sha256sum nor shasum is installed"
fi
sha256() { "${sha256[@]}" "$@"; }

# asset OS ARCH EDITION: the file name of one release binary.
asset() {
  local name=flightline ext=""
  [ "$3" = lean ] && name=flightline-lean
  [ "$1" = windows ] && ext=.exe
  printf '%s_%s_%s%s\n' "$name" "$1" "$2" "$ext"
}

digest() {
  (
    cd "$root"
    {
      for f in go.mod go.sum release/version release/go-version scripts/release.sh; do
        [ -f "$f" ] && printf '%s\0' "$f"
      done
      find cmd pkg internal -type f ! -name '*_test.go' ! -path '*/testdata/*' -print0
    } | LC_ALL=C sort -z | xargs -0 "${sha256[@]}"
  ) | sha256 | cut -c1-64
}

go_version() {
  [ -f "$root/release/go-version" ] || die "release/go-version is missing"
  tr -d ' \t\r\n' <"$root/release/go-version"
}

# binary OS ARCH EDITION VERSION OUT
binary() {
  local os=$1 arch=$2 edition=$3 version=$4 out=$5 tags="" gv
  case "$edition" in full) ;; lean) tags=lean ;; *) die "edition must be full or lean, got '$edition'" ;; esac
  gv="go$(go_version)"
  command -v go >/dev/null 2>&1 || die "no go on PATH: any Go >= 1.21 fetches $gv by itself (GOTOOLCHAIN)"
  mkdir -p "$(dirname "$out")"
  (
    cd "$root"
    # Only what this build sets: nothing from the caller's Go environment changes the bytes.
    unset GOFLAGS GOEXPERIMENT GOAMD64 GOARM64 GO386 GOARM GOMIPS GOPPC64 GORISCV64 GOWASM CC CXX
    export GOTOOLCHAIN="$gv" GOWORK=off CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" GOAMD64=v1 GOARM64=v8.0
    export GOFLAGS=-mod=readonly
    got="$(go env GOVERSION)"
    [ "$got" = "$gv" ] || die "want Go $gv, the go command gives $got (a Go older than 1.21 on PATH cannot switch toolchains)"
    go build -tags "$tags" -trimpath -buildvcs=false \
      -ldflags "-s -w -buildid= -X main.version=$version" -o "$out" ./cmd/flightline
  )
}

release_version() {
  [ -f "$root/release/version" ] || die "release/version is missing: run '$me prepare vX.Y.Z'"
  tr -d ' \t\r\n' <"$root/release/version"
}

# build DIR: every asset of this tree's version, and DIR/SHA256SUMS.
build() {
  local dir=$1 version t os arch e a
  version="$(release_version)"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  for t in $targets; do
    os=${t%/*} arch=${t#*/}
    for e in $editions; do
      a="$(asset "$os" "$arch" "$e")"
      echo "$me: building $a ($version, go$(go_version))" >&2
      binary "$os" "$arch" "$e" "$version" "$dir/$a"
    done
  done
  (cd "$dir" && for t in $targets; do for e in $editions; do asset "${t%/*}" "${t#*/}" "$e"; done; done | xargs "${sha256[@]}") >"$dir/SHA256SUMS.tmp"
  mv "$dir/SHA256SUMS.tmp" "$dir/SHA256SUMS"
}

check_version() {
  case "$1" in
  v[0-9]*.[0-9]*.[0-9]*) ;;
  *) die "version must look like v1.2.3, got '$1'" ;;
  esac
}

prepare() {
  local version=$1
  check_version "$version"
  cd "$root"
  if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
    die "the work tree has changes: a release is built from a committed tree (git status)"
  fi
  printf '%s\n' "$version" >release/version
  rm -rf dist
  build dist
  cp dist/SHA256SUMS release/SHA256SUMS
  digest >release/source.sha256
  cat >&2 <<EOF
$me: release $version prepared (binaries in dist/). Now:
  git add release/version release/SHA256SUMS release/source.sha256
  git commit -m "release $version"
  git tag -a $version -m "flightline $version" && git push origin HEAD $version
The release workflow rebuilds the tag, checks its bytes against release/SHA256SUMS and publishes.
EOF
}

verify() {
  local dir=$1 want got
  cd "$root"
  [ -f release/SHA256SUMS ] || die "release/SHA256SUMS is missing: this tree holds no release"
  want="$(tr -d ' \t\r\n' <release/source.sha256)"
  got="$(digest)"
  [ "$want" = "$got" ] || die "the tree's digest is $got but release/source.sha256 says $want: the build inputs changed after '$me prepare'"
  if ! diff -u release/SHA256SUMS "$dir/SHA256SUMS" >&2; then
    die "the binaries built here differ from the hashes committed in release/SHA256SUMS (above: - committed, + built)"
  fi
  echo "$me: every binary in $dir matches release/SHA256SUMS" >&2
}

case "${1:-}" in
digest) digest ;;
sha256)
  shift
  sha256 "$@"
  ;;
binary)
  [ $# = 6 ] || die "usage: $me binary OS ARCH EDITION VERSION OUT"
  binary "$2" "$3" "$4" "$5" "$6"
  ;;
build)
  [ $# = 2 ] || die "usage: $me build DIR"
  build "$2"
  ;;
prepare)
  [ $# = 2 ] || die "usage: $me prepare vX.Y.Z"
  prepare "$2"
  ;;
verify)
  [ $# = 2 ] || die "usage: $me verify DIR"
  verify "$2"
  ;;
asset)
  [ $# = 4 ] || die "usage: $me asset OS ARCH EDITION"
  asset "$2" "$3" "$4"
  ;;
*)
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
