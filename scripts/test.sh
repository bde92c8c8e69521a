#!/usr/bin/env bash
# Medlight's test command: installs what is missing, then runs every test. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/install-tools.sh)"
export TRUNK_OFFLINE=true CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/tests/webdriver.json"

echo "== native tests: core, trainer (smoke training, resume), app logic"
cargo test --workspace

echo "== the core compiled to wasm, in headless Chromium (wasm-bindgen-test)"
cargo test -p medlight-ner --target wasm32-unknown-unknown --test wasm

echo "== trunk build --release"
trunk build --release

echo "== end-to-end tests of the built app in headless Chromium"
(cd tests/e2e && node --test)
