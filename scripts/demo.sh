#!/usr/bin/env bash
# Installs what is missing and starts the practice cluster with the StatefulSet lab,
# printing how to point kubectl at it. Extra arguments go to practice-cluster
# (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
exec cargo run --locked --release -p practice-cluster -- "$@"
