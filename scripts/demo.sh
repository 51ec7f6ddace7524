#!/usr/bin/env bash
# Runs ccf on the example layout in a throw-away sandbox: a temp HOME with two account
# homes, a private tmux server (started here, by the script: ccf never starts one),
# one dedicated session and the config from config.example.yaml pointed at them.
# Nothing outside the sandbox is touched. Usage: scripts/demo.sh [path/to/ccf]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
ccf=${1:-$(command -v ccf || echo "$repo/target/release/ccf")}
sandbox=$(mktemp -d /tmp/ccf-demo.XXXXXX)
socket=$sandbox/tmux.sock
cleanup() { tmux -S "$socket" kill-server 2>/dev/null || true; rm -rf "$sandbox"; }
trap cleanup EXIT

export HOME=$sandbox/home XDG_CONFIG_HOME=$sandbox/home/.config
mkdir -p "$HOME/work" "$HOME/src/conformvault"
# The example config, with the sandbox's tmux socket and no notification channels.
sed -e "s|socket_path: null|socket_path: $socket|" \
    -e '/^notifications:/,$d' "$repo/config.example.yaml" > "$sandbox/config.yaml"
export CCF_CONFIG=$sandbox/config.yaml
tmux -S "$socket" -f /dev/null new-session -d -s ccl-1-conformvault -c "$HOME/src/conformvault"

run() { echo "\$ ccf $*"; "$ccf" "$@" || echo "(exit $?)"; echo; }
run validate
run ensure-symlinks
run status
run check-quota --dry-run
