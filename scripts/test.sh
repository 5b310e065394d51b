#!/usr/bin/env bash
# Installs what is missing, then runs every test: unit, store, router and the
# integration tests that drive the practice cluster with kube-rs and the real kubectl.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cargo build --workspace --all-targets --locked
cargo test --workspace --locked --no-fail-fast
