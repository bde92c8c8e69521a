#!/usr/bin/env bash
# Medlight's one test command. Installs what is missing, builds the app, then runs every test:
# native tests of the whole workspace, the wasm tests in headless Chromium, and the end-to-end tests
# of the built app. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
section() { printf '\n========== %s (%ds elapsed)\n' "$*" $((SECONDS - started)); }

section "installing missing tools (scripts/install-tools.sh)"
eval "$(scripts/install-tools.sh)"
export TRUNK_OFFLINE=true
export CHROMEDRIVER=/usr/bin/chromedriver CHROMIUM=/usr/bin/chromium
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/tests/webdriver.json" WASM_BINDGEN_TEST_TIMEOUT=300

section "building the app: trunk build --release (dist/)"
trunk build --release

# Native tests use the dev profile: dependencies are built at opt-level 3 there (Cargo.toml), and the
# release profile's LTO would re-link every test binary for minutes.
section "native tests: core, trainer, app logic (cargo test --workspace), end-to-end excluded"
cargo test --workspace -- --skip e2e_

section "wasm tests in headless Chromium (wasm-bindgen-test): the app's offset logic"
cargo test --release --target wasm32-unknown-unknown -p medlight --test offsets

section "wasm tests in headless Chromium (wasm-bindgen-test): the core"
cargo test --release --target wasm32-unknown-unknown -p medlight-ner --test wasm
# Again with the relaxed-SIMD kernel of the app's other worker build (exact sums, same logits).
cargo test --release --target wasm32-unknown-unknown -p medlight-ner --features relaxed-simd --test wasm

# Dev profile: reuses the native test build above (seconds) instead of an LTO release build (minutes).
section "end-to-end tests of dist/ in headless Chromium (tests/e2e.rs)"
# Three browsers at a time: each compiles the worker's wasm and loads the model.
cargo test -p medlight --test e2e -- --test-threads=3

section "all tests passed"
