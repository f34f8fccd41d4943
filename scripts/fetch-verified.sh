#!/usr/bin/env bash
# fetch-verified.sh URL SHA256 DEST [MODE]
#
# Downloads URL to DEST only if its SHA-256 is SHA256 (64 hex digits, from a file you trust: this
# repository's tree, never the server that serves the file).
#
#  - The download goes to a temporary file next to DEST and is moved into place (atomically, on one
#    file system) only after the hash matched; MODE (default 0644) is set before the move.
#  - Retries with exponential back-off on HTTP 408/429/5xx and on connection errors (refused,
#    reset, timeout, DNS, partial transfer); a Retry-After header (seconds) is honoured up to the
#    cap. Any other HTTP error (404, 403, ...) fails at once: retrying will not make it appear.
#  - On a hash mismatch it prints the expected and the actual hash and exits 1.
#  - On any failure it leaves nothing behind: no temporary file, no directory it made for DEST,
#    and DEST is neither created nor changed.
#  - When DEST already exists with the expected hash it downloads nothing (a verified cache hit).
#
# Needs bash, curl, and sha256sum or shasum (Linux, macOS and Git Bash on Windows runners have
# them), so composite actions can use it before the flightline binary exists.
#
# Tunables (environment): FETCH_VERIFIED_ATTEMPTS (default 5), FETCH_VERIFIED_BACKOFF (first
# delay in seconds, doubled per retry, default 1), FETCH_VERIFIED_MAX_DELAY (cap on one delay,
# default 30), FETCH_VERIFIED_MAX_TIME (seconds per attempt, default 300).
#
# Exit codes: 0 verified and in place, 1 download failed or hash mismatch, 2 usage.
set -euo pipefail

me="fetch-verified"
err() {
  # In Actions, an ::error:: annotation; the message only ever holds our own arguments and hashes.
  if [ "${GITHUB_ACTIONS:-}" = "true" ]; then echo "::error title=$me::$*" >&2; else echo "$me: $*" >&2; fi
}

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
  echo "usage: $me URL SHA256 DEST [MODE]" >&2
  exit 2
fi
url="$1"
want="$(printf '%s' "$2" | tr 'A-F' 'a-f')"
dest="$3"
mode="${4:-0644}"

case "$want" in
*[!0-9a-f]* | "") bad=1 ;;
*) bad=$((${#want} != 64)) ;;
esac
if [ "$bad" = 1 ]; then
  err "the expected SHA-256 must be 64 hex digits, got '$2'"
  exit 2
fi
case "$mode" in
*[!0-7]* | "") err "MODE must be octal (e.g. 0755), got '$mode'"; exit 2 ;;
esac
case "$url" in
https://* | http://*) ;;
*) err "URL must be http(s)://, got '$url'"; exit 2 ;;
esac

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    openssl dgst -sha256 -r "$1" | cut -d' ' -f1
  fi
}

if [ -f "$dest" ] && [ "$(sha256 "$dest")" = "$want" ]; then
  echo "$me: $dest already present, SHA-256 verified ($want)"
  exit 0
fi

command -v curl >/dev/null 2>&1 || { err "curl is not installed"; exit 1; }

destdir="$(dirname "$dest")"
made=""
if [ ! -d "$destdir" ]; then
  mkdir -p "$destdir"
  made="$destdir"
fi
tmp="$(mktemp "$destdir/.$(basename "$dest").XXXXXX")"
hdr="$(mktemp "${TMPDIR:-/tmp}/$me-headers.XXXXXX")"
placed=""
cleanup() {
  rm -f "$tmp" "$hdr"
  # A directory this run made for DEST goes too when DEST did not arrive (if it is still empty).
  if [ -z "$placed" ] && [ -n "$made" ]; then rmdir "$made" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

attempts="${FETCH_VERIFIED_ATTEMPTS:-5}"
delay="${FETCH_VERIFIED_BACKOFF:-1}"
maxdelay="${FETCH_VERIFIED_MAX_DELAY:-30}"
maxtime="${FETCH_VERIFIED_MAX_TIME:-300}"

n=0
while :; do
  n=$((n + 1))
  rc=0
  code="$(curl --silent --show-error --location --fail --connect-timeout 10 --max-time "$maxtime" \
    --dump-header "$hdr" --output "$tmp" --write-out '%{http_code}' "$url")" || rc=$?
  if [ "$rc" = 0 ]; then break; fi
  retry=0
  case "$rc" in
  22) # HTTP error (--fail)
    case "$code" in 408 | 429 | 5??) retry=1 ;; esac
    what="HTTP $code"
    ;;
  5 | 6 | 7 | 18 | 28 | 35 | 52 | 55 | 56)
    retry=1
    what="connection error (curl exit $rc)"
    ;;
  *) what="curl exit $rc" ;;
  esac
  if [ "$retry" = 0 ] || [ "$n" -ge "$attempts" ]; then
    if [ "$retry" = 1 ]; then what="$what, $n attempts"; fi
    err "downloading $url failed: $what"
    exit 1
  fi
  wait="$delay"
  ra="$(tr -d '\r' <"$hdr" | sed -n 's/^[Rr]etry-[Aa]fter:[[:space:]]*\([0-9][0-9]*\)[[:space:]]*$/\1/p' | tail -n1)"
  if [ -n "$ra" ]; then wait="$ra"; fi
  if [ "$wait" -gt "$maxdelay" ]; then wait="$maxdelay"; fi
  echo "$me: $url: $what; retry $n of $((attempts - 1)) in ${wait}s" >&2
  sleep "$wait"
  delay=$((delay * 2))
  if [ "$delay" -gt "$maxdelay" ]; then delay="$maxdelay"; fi
done

got="$(sha256 "$tmp")"
if [ "$got" != "$want" ]; then
  err "SHA-256 mismatch for $url: expected $want, got $got (nothing was written to $dest)"
  echo "  expected: $want" >&2
  echo "  got:      $got" >&2
  exit 1
fi
chmod "$mode" "$tmp"
mv -f "$tmp" "$dest"
placed=1
echo "$me: $dest SHA-256 verified ($want)"
