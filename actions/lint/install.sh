#!/usr/bin/env bash
# Installs, at pinned versions, the linters that `flightline lint` will run in this repository.
#
#   install.sh key   print key=<hash> (GITHUB_OUTPUT in Actions): the cache key of the pins
#   install.sh       install what the selected linters need into $FLIGHTLINE_CACHE/lint and put
#                    its bin/ on GITHUB_PATH
#
# Python linters go into one virtualenv (pip, --require-hashes when requirements.txt has hashes);
# their entry points are linked into lint/bin so that the job's own python is left alone. Go
# linters are built with `go install module@version`. shellcheck comes from the runner image
# (apt when missing). A tool already at its pinned version is not installed again.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${FLIGHTLINE_CACHE:-$HOME/.cache/flightline}/lint"
bin="$cache/bin"

golangci="github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0"
actionlint="github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"

if [ "${1:-}" = key ]; then
  key="$( (cat "$here/requirements.txt"; echo "$golangci $actionlint") | sha256sum | cut -c1-24)"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "key=$key" >>"$GITHUB_OUTPUT"; else echo "key=$key"; fi
  exit 0
fi

if [ "${FLIGHTLINE_INPUT_INSTALL:-true}" != true ]; then
  echo "install is ${FLIGHTLINE_INPUT_INSTALL}: using the linters on PATH"
  exit 0
fi

mkdir -p "$bin"
if [ -n "${GITHUB_PATH:-}" ]; then echo "$bin" >>"$GITHUB_PATH"; fi
export PATH="$bin:$PATH"

# The linters this run needs (linters and working-directory come from the action's inputs).
mapfile -t needed < <(flightline lint --list-linters)
echo "flightline lint will run: ${needed[*]:-nothing}"

py=()
go_tool() { # name module@version
  local stamp="$bin/.$1.version"
  if [ -x "$bin/$1" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$2" ]; then return; fi
  echo "go install $2"
  GOBIN="$bin" GOFLAGS=-buildvcs=false go install "$2"
  echo "$2" >"$stamp"
}
for l in "${needed[@]}"; do
  case "$l" in
  flake8 | black | isort | bandit | ruff | yamllint) py+=("$l") ;;
  golangci-lint) go_tool golangci-lint "$golangci" ;;
  actionlint)
    go_tool actionlint "$actionlint"
    command -v shellcheck >/dev/null || py+=(shellcheck-apt)
    ;;
  shellcheck) command -v shellcheck >/dev/null || py+=(shellcheck-apt) ;;
  esac
done

for p in "${py[@]}"; do
  if [ "$p" = shellcheck-apt ]; then
    echo "apt-get install shellcheck"
    sudo apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
    continue
  fi
  stamp="$cache/venv/.requirements.sha256"
  want="$(sha256sum <"$here/requirements.txt" | cut -c1-64)"
  if [ ! -x "$cache/venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    rm -rf "$cache/venv"
    python3 -m venv "$cache/venv"
    hashes=()
    grep -q -- '--hash=' "$here/requirements.txt" && hashes=(--require-hashes)
    "$cache/venv/bin/pip" install --quiet --disable-pip-version-check "${hashes[@]}" -r "$here/requirements.txt"
    echo "$want" >"$stamp"
  fi
  break
done
for p in "${py[@]}"; do
  [ "$p" = shellcheck-apt ] || ln -sf "$cache/venv/bin/$p" "$bin/$p"
done
