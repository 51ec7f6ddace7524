#!/usr/bin/env bash
# Runs ccf's main job on the example configuration in a throw-away sandbox: a temp HOME
# with two logged-in account homes, a private tmux server (started here, by the script:
# ccf never starts one), and the dedicated session of config.example.yaml running a
# stand-in for Claude Code (tests/support/fake_claude.py) that hits its usage limit.
# Nothing outside the sandbox is touched. Usage: scripts/demo.sh [path/to/ccf]
# Without a path it runs the ccf `cargo install` put in cargo's bin directory
# ($CARGO_INSTALL_ROOT, else $CARGO_HOME, else ~/.cargo), else the one on PATH, else
# target/release/ccf.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
find_ccf() {
  local root
  for root in "${CARGO_INSTALL_ROOT:-}" "${CARGO_HOME:-$HOME/.cargo}"; do
    if [[ -n $root && -x $root/bin/ccf ]]; then echo "$root/bin/ccf"; return; fi
  done
  command -v ccf || echo "$repo/target/release/ccf"
}
ccf=${1:-$(find_ccf)}
if [[ ! -x $ccf ]]; then echo "demo: no ccf at $ccf; pass its path: scripts/demo.sh path/to/ccf" >&2; exit 1; fi
sandbox=$(mktemp -d /tmp/ccf-demo.XXXXXX)
socket=$sandbox/tmux.sock
cleanup() { tmux -S "$socket" kill-server 2>/dev/null || true; rm -rf "$sandbox"; }
trap cleanup EXIT

export HOME=$sandbox/home XDG_CONFIG_HOME=$sandbox/home/.config XDG_STATE_HOME=$sandbox/home/.local/state
project=$HOME/src/conformvault
mkdir -p "$HOME/work" "$project" "$HOME/bin"
# The stand-in answers as `claude` (tmux shows its argv[0]).
printf '#!/bin/bash\nexec -a claude /usr/bin/python3 %s "$@"\n' "$repo/tests/support/fake_claude.py" > "$HOME/bin/claude"
chmod +x "$HOME/bin/claude"
export PATH=$HOME/bin:$PATH
for account in compte1 compte2; do
  home=$HOME/.claude-$account
  mkdir -p "$home"
  echo '{"claudeAiOauth":{"accessToken":"demo"}}' > "$home/.credentials.json"
  printf '{"hasCompletedOnboarding":true,"projects":{"%s":{"hasTrustDialogAccepted":true},"%s":{"hasTrustDialogAccepted":true}}}' \
    "$HOME/work" "$project" > "$home/.claude.json"
done
# The example config, with the sandbox's tmux socket, no notification channel and no
# --dangerously-skip-permissions (refused as root).
sed -e "s|socket_path: null|socket_path: $socket|" -e 's|args: \[--dangerously-skip-permissions\]|args: []|' \
    -e '/^notifications:/,$d' "$repo/config.example.yaml" > "$sandbox/config.yaml"
export CCF_CONFIG=$sandbox/config.yaml

run() { echo "\$ ccf $*"; "$ccf" "$@" || echo "(exit $?)"; echo; }
tmux -S "$socket" -f /dev/null new-session -d -s keepalive
run ensure-symlinks
run validate
tmux -S "$socket" new-session -d -s ccl-1-conformvault -c "$project" -- env "PATH=$PATH" claude
wait_for() { for _ in $(seq 100); do tmux -S "$socket" capture-pane -p -t =ccl-1-conformvault: | grep -q "$1" && return; sleep 0.1; done; echo "timed out waiting for $1" >&2; exit 1; }
wait_for Welcome
tmux -S "$socket" send-keys -t =ccl-1-conformvault: -l 'fix the login form'
tmux -S "$socket" send-keys -t =ccl-1-conformvault: Enter
wait_for 'reply to'
echo "limit $(( $(date +%s) + 7200 ))" > "$HOME/.claude-compte1/fake-mode"   # compte1 runs out
tmux -S "$socket" send-keys -t =ccl-1-conformvault: -l 'and the tests'
tmux -S "$socket" send-keys -t =ccl-1-conformvault: Enter
wait_for 'hit your 5-hour limit'
# The conversation's id: its transcript's name, in the projects directory every account
# shares.
session_id() { for f in "$HOME"/.claude-shared/projects/*/*.jsonl; do basename "$f" .jsonl; done; }
pane() {
  echo "--- the session's pane $1 (conversation $(session_id), ~/.claude -> $(basename "$(readlink "$HOME/.claude")")):"
  tmux -S "$socket" capture-pane -p -t =ccl-1-conformvault: | grep -v '^$'; echo
}
pane "before the swap"
run check-quota --dry-run
run check-quota
wait_for 'reply to: continue'
pane "after the swap"
run status
