#!/usr/bin/env bash
# Installs what StatefulSet Lab needs and is missing; skips what is there.
# Safe to run again. Used by scripts/demo.sh, scripts/test.sh and CI.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "error: no Rust toolchain (cargo). Install rustup (https://rustup.rs) and run this again." >&2
    exit 1
  fi
fi
say "Rust: $(rustc --version)"

if ! command -v kubectl >/dev/null 2>&1; then
  say "kubectl is missing; trying Debian's package"
  if command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && apt-get install -y -qq kubernetes-client; } >/dev/null 2>&1 || true
  fi
  command -v kubectl >/dev/null 2>&1 || {
    echo "error: kubectl is needed for the kubectl integration tests and the lab; install it and run this again." >&2
    exit 1
  }
fi
say "kubectl: $(kubectl version --client 2>/dev/null | head -n1)"
