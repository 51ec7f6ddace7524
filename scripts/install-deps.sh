#!/usr/bin/env bash
# Installs what ccf and scripts/demo.sh run (tmux; python3 for the demo's stand-in
# claude) when it is missing. Extra Debian package names may be given as arguments
# ("command:package"), which scripts/install-test-deps.sh uses. apt-get runs only when
# something is absent.
set -euo pipefail
missing=()
command -v tmux >/dev/null || missing+=(tmux)
[[ -x /usr/bin/python3 ]] || missing+=(python3)
for pair in "$@"; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
