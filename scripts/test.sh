#!/usr/bin/env bash
# Installs what is missing, checks formatting and clippy, then runs every test: unit, store, router and the
# integration tests that drive the practice cluster with kube-rs and the real
# kubectl; then builds the site and runs the Playwright tests in Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo build --workspace --all-targets --locked
cargo test --workspace --locked --no-fail-fast

# End to end: the real site (server + hydrating wasm) on the in-process practice cluster.
bash scripts/build-site.sh
(cd end2end && npx playwright test)
