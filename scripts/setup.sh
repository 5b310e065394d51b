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

# ---- The web front end (Leptos): wasm target, cargo-leptos, wasm-bindgen, wasm-opt ----
# Versions and routes from shared/TOOLCHAIN.md: the obvious `cargo install --locked`
# fails for both tools on this Rust, and nothing may download prebuilt binaries.
CARGO_LEPTOS_VERSION=0.3.11
WASM_BINDGEN_VERSION=0.2.130
BINARYEN_VERSION=132
TOOLS="$PWD/.tools"
mkdir -p "$TOOLS"

# ---- The Python `kubernetes` client, which the restart test drives a lesson with ----
PYTHON_KUBERNETES_VERSION=37.0.2
if ! "$TOOLS/venv/bin/python" -c "import sys, kubernetes; sys.exit(kubernetes.__version__ != '$PYTHON_KUBERNETES_VERSION')" 2>/dev/null; then
  say "installing the Python kubernetes client $PYTHON_KUBERNETES_VERSION in .tools/venv"
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" 2>/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
  fi
  rm -rf "$TOOLS/venv"
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check "kubernetes==$PYTHON_KUBERNETES_VERSION"
fi

for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    say "adding $component"
    rustup component add "$component"
  fi
done

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# Builds a crate from crates.io with some dependencies pinned to older versions.
# $1 crate, $2 version, $3 extra cargo-install flags, rest: "pkg@version" pins.
install_pinned() {
  local crate=$1 version=$2 flags=$3; shift 3
  local work="${TMPDIR:-/tmp}/stslab-build-$crate-$version"
  rm -rf "$work"; mkdir -p "$work/fetch"
  cat >"$work/fetch/Cargo.toml" <<TOML
[package]
name = "fetch-$crate"
version = "0.0.0"
edition = "2021"
[dependencies]
$crate = "=$version"
[workspace]
TOML
  mkdir -p "$work/fetch/src"; echo "" >"$work/fetch/src/lib.rs"
  # Resolving a manifest that depends on the crate makes cargo download its source.
  (cd "$work/fetch" && cargo fetch -q) || true
  local src
  src=$(ls -d "$HOME"/.cargo/registry/src/*/"$crate-$version" 2>/dev/null | head -n1)
  [ -n "$src" ] || { echo "error: could not fetch $crate $version from crates.io" >&2; return 1; }
  cp -r "$src" "$work/src"
  (
    cd "$work/src"
    for pin in "$@"; do cargo update -q -p "${pin%@*}" --precise "${pin#*@}"; done
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install -q --path . --locked $flags
  )
  rm -rf "$work"
}

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  say "building cargo-leptos $CARGO_LEPTOS_VERSION (20-40 minutes the first time)"
  install_pinned cargo-leptos "$CARGO_LEPTOS_VERSION" "--features no_downloads" "cargo-util-schemas@0.14.1"
fi
say "$(cargo leptos --version)"

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  say "building wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  install_pinned wasm-bindgen-cli "$WASM_BINDGEN_VERSION" "" "webpki-roots@1.0.10"
fi
say "$(wasm-bindgen --version)"

# Debian's binaryen makes wasm that fails to hydrate in Chromium; npm's is pure JS/wasm.
if [ ! -x "$TOOLS/node_modules/.bin/wasm-opt" ]; then
  say "installing wasm-opt (npm binaryen@$BINARYEN_VERSION)"
  (cd "$TOOLS" && { [ -f package.json ] || echo '{"private":true}' >package.json; } && npm install -s --no-audit --no-fund "binaryen@$BINARYEN_VERSION")
fi
export PATH="$TOOLS/node_modules/.bin:$PATH"

# Precompressing the site's static files (scripts/build-site.sh).
if ! command -v brotli >/dev/null 2>&1; then
  say "installing brotli"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq brotli >/dev/null
fi

# ---- Browser tests: Debian's Chromium and Playwright (which must not download a browser) ----
if [ ! -x /usr/bin/chromium ]; then
  say "installing Debian's chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# Reinstalled whenever the lockfile changes (a stamp records which one was installed).
LOCK_SUM=$(sha256sum end2end/package-lock.json | cut -d' ' -f1)
if [ "$(cat end2end/node_modules/.stslab-lock 2>/dev/null)" != "$LOCK_SUM" ]; then
  say "installing Playwright and axe for end2end/"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci -s --no-audit --no-fund)
  echo "$LOCK_SUM" >end2end/node_modules/.stslab-lock
fi
