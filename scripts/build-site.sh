#!/usr/bin/env bash
# Builds the site (server binary and hydrating wasm) in release mode, then
# precompresses its static files (brotli and gzip) so every laptop in the room
# downloads them compressed without the server compressing them again.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cargo leptos build --release
for f in target/site/pkg/*.wasm target/site/pkg/*.js target/site/pkg/*.css; do
  [ -f "$f" ] || continue
  gzip -9 -k -f "$f"
  brotli -q 11 -k -f "$f"
done
