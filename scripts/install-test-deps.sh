#!/usr/bin/env bash
# Installs what the test suite runs for real (tmux, python3 for the fake claude,
# systemd-analyze, node/npm for the real Claude Code) when it is missing. Uses apt-get only
# for what is absent.
set -euo pipefail
missing=()
command -v tmux >/dev/null || missing+=(tmux)
[[ -x /usr/bin/python3 ]] || missing+=(python3)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
