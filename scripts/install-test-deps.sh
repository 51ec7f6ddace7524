#!/usr/bin/env bash
# Installs what the test suite runs for real when it is missing: tmux and python3 (the
# fake claude), systemd's binaries (unit checks, and the user manager the user-manager
# tier starts: /lib/systemd/systemd, systemctl, systemd-run), pkill (that tier's
# cleanup), node/npm (the real Claude Code tier).
set -euo pipefail
exec "$(dirname "$0")/install-deps.sh" systemd-analyze:systemd systemd-run:systemd \
  /lib/systemd/systemd:systemd pkill:procps node:nodejs npm:npm
