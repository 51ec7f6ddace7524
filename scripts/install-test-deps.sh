#!/usr/bin/env bash
# Installs what the test suite runs for real when it is missing: tmux and python3 (the
# fake claude), systemd-analyze (unit checks), node/npm (the real Claude Code tier).
set -euo pipefail
exec "$(dirname "$0")/install-deps.sh" systemd-analyze:systemd node:nodejs npm:npm
