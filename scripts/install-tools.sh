#!/usr/bin/env bash
# Installs what building and testing Medlight needs, where missing (idempotent; only package
# registries are contacted, and Trunk itself never downloads anything):
#   - the wasm32-unknown-unknown Rust target
#   - Trunk 0.21.14 (0.22 needs a newer rustc)
#   - wasm-bindgen-cli (wasm-bindgen, wasm-bindgen-test-runner) at exactly Cargo.lock's wasm-bindgen version
#   - wasm-opt 116 from npm's binaryen@116 into $MEDLIGHT_TOOLS (Debian's binaryen 108 emits broken wasm;
#     npm takes seconds where `cargo install wasm-opt` compiles Binaryen's C++ for many minutes)
#   - Debian's chromium and chromium-driver (headless browser tests)
# stdout carries only the PATH line to eval: eval "$(scripts/install-tools.sh)".
set -euo pipefail
cd "$(dirname "$0")/.."
tools="${MEDLIGHT_TOOLS:-$HOME/.cache/medlight/tools}"
log() { echo "install-tools: $*" >&2; }
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }
export PATH="$tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown >&2
fi

if ! trunk --version 2>/dev/null | grep -qx 'trunk 0\.21\.14'; then
  log "installing trunk 0.21.14 (compiles for several minutes)"
  cargo install trunk --version 0.21.14 --locked >&2
fi

# The CLI must match the wasm-bindgen the app links, so the version is read from the lockfile.
bindgen=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[[ -n $bindgen ]] || { log "no wasm-bindgen in Cargo.lock"; exit 1; }
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $bindgen" \
  || ! wasm-bindgen-test-runner --version 2>/dev/null | grep -q " $bindgen\$"; then
  # Without --locked: the CLI's own lockfile pins a crate version the registry no longer serves.
  log "installing wasm-bindgen-cli $bindgen (compiles for a few minutes)"
  cargo install wasm-bindgen-cli --version "=$bindgen" --force >&2
fi

if ! wasm-opt --version 2>/dev/null | grep -q 'version 116\b'; then
  log "installing wasm-opt 116 (npm binaryen@116.0.0) into $tools"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-save --no-audit --no-fund --loglevel=error binaryen@116.0.0 >&2
fi

if ! [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  log "installing Debian chromium and chromium-driver"
  as_root apt-get update >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver >&2
fi

echo "export PATH=\"$tools/node_modules/.bin:\$HOME/.cargo/bin:\$PATH\""
