#!/usr/bin/env bash
# Installs the pinned real Claude Code (npm package @anthropic-ai/claude-code) for the
# real-client test tier, once, into .cache/claude-code/ of the repo (gitignored), and
# prints the path of its native binary on stdout (nothing else goes to stdout).
# Usage: scripts/install-claude-code.sh [DIR]
# To bump the version: change CLAUDE_CODE_VERSION, run the tier (scripts/test.sh), and
# read what the tests say changed.
set -euo pipefail

CLAUDE_CODE_VERSION=2.1.330

cd "$(dirname "$0")/.."
dir=${1:-"$PWD/.cache/claude-code"}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pkg="$dir/node_modules/@anthropic-ai/claude-code"

installed_version() {
    [[ -f $pkg/package.json ]] || return 0
    node -e 'process.stdout.write(require(process.argv[1]).version)' "$pkg/package.json" 2>/dev/null || true
}

# 2.1.x ships a native build: bin/claude.exe is an ELF despite its name, hard-linked by the
# postinstall step from the platform package. Older versions only have the JS launcher.
find_bin() {
    local c
    for c in "$pkg/bin/claude.exe" "$pkg/bin/claude" "$dir/node_modules/.bin/claude"; do
        if [[ -f $c && -x $c ]]; then
            printf '%s\n' "$c"
            return 0
        fi
    done
    return 1
}

if [[ $(installed_version) != "$CLAUDE_CODE_VERSION" ]] || ! find_bin >/dev/null; then
    command -v npm >/dev/null || { echo "install-claude-code: npm not found" >&2; exit 2; }
    [[ -f $dir/package.json ]] || printf '{"private":true}\n' >"$dir/package.json"
    echo "install-claude-code: installing @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION into $dir" >&2
    npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error \
        "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" >&2
    v=$(installed_version)
    if [[ $v != "$CLAUDE_CODE_VERSION" ]]; then
        echo "install-claude-code: expected $CLAUDE_CODE_VERSION, got '${v:-nothing}'" >&2
        exit 1
    fi
fi

find_bin || { echo "install-claude-code: no runnable binary under $pkg" >&2; exit 1; }
