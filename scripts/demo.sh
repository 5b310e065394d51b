#!/usr/bin/env bash
# Installs what is missing, builds the site, and starts the dashboard on an
# in-process practice cluster with the StatefulSet lab. It prints the dashboard URL
# and how to point kubectl at the same cluster. Extra arguments go to stslab
# (try --help), e.g. --kubeconfig ~/.kube/config for a real cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cargo leptos build --release
exec ./target/release/stslab "$@"
