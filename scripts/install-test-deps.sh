#!/usr/bin/env bash
# Installs what the test suite runs for real when it is missing: tmux and python3 (the
# fake claude), systemd's binaries (unit checks, and the user manager the user-manager
# tier starts: /lib/systemd/systemd, systemctl, systemd-run), pkill (that tier's
# cleanup), node/npm (the real Claude Code tier), etcd and etcdctl (the fleet tier's
# 3-member cluster; etcdctl only for debugging by hand; openssl makes its test CA).
set -euo pipefail
"$(dirname "$0")/install-deps.sh" systemd-analyze:systemd systemd-run:systemd \
  /lib/systemd/systemd:systemd pkill:procps node:nodejs npm:npm \
  etcd:etcd-server etcdctl:etcd-client openssl:openssl
# Debian's etcd-server starts a default member on 127.0.0.1:2379/2380 where systemd
# runs. The tests start their own clusters on free ports, so a default one is only a
# stray process holding ports (and data in /var/lib/etcd): stop it and keep it off.
if command -v systemctl >/dev/null && systemctl is-enabled etcd >/dev/null 2>&1; then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo systemctl disable --now etcd >/dev/null 2>&1 || true
fi
