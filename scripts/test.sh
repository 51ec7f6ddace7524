#!/usr/bin/env bash
# The whole test suite: unit tests and the integration binary (real tmux, fake claude).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo test --locked --all-targets
