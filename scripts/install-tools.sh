#!/usr/bin/env bash
# Installs what building and testing Medlight needs, where missing (idempotent, nothing downloaded
# outside the package registries): the wasm32 target, Trunk 0.21.14, wasm-bindgen-cli at exactly the
# lockfile's wasm-bindgen version, wasm-opt 116 (npm binaryen; Debian's binaryen 108 emits broken
# wasm), Debian's Chromium and ChromeDriver, and the end-to-end tests' npm packages.
# Prints nothing on stdout but the PATH line to eval: eval "$(scripts/install-tools.sh)".
set -euo pipefail
cd "$(dirname "$0")/.."
tools="${MEDLIGHT_TOOLS:-$HOME/.cache/medlight/tools}"
log() { echo "install-tools: $*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown >&2
fi
if ! trunk --version 2>/dev/null | grep -q '^trunk 0\.21\.14$'; then
  log "installing trunk 0.21.14 (a few minutes)"
  cargo install trunk --version 0.21.14 --locked >&2
fi
bindgen=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $bindgen\$"; then
  # Without --locked: the CLI's own lockfile wants a crate version the registry lacks.
  log "installing wasm-bindgen-cli $bindgen"
  cargo install wasm-bindgen-cli --version "$bindgen" --force >&2
fi
if ! "$tools/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q 'version 116'; then
  log "installing wasm-opt 116 (npm binaryen) into $tools"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-save --no-audit --no-fund binaryen@116.0.0 >&2
fi
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  log "installing Debian chromium and chromium-driver"
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver >&2
fi
if [[ ! -d tests/e2e/node_modules/playwright-core ]]; then
  log "installing the end-to-end tests' npm packages"
  (cd tests/e2e && npm ci --no-audit --no-fund >&2)
fi
echo "export PATH=\"$tools/node_modules/.bin:\$PATH\""
