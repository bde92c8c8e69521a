#!/usr/bin/env bash
# Medlight's one test command. Installs what is missing, serves the app with the README's first
# command (scripts/serve.sh) until it answers, then runs every test: native tests of the whole
# workspace, the wasm tests in headless Chromium, and the end-to-end tests of the built app. Formatting
# and clippy's lints are checked first.
# Exits non-zero on the first failure; prints each section's time, and all of them at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
section_name="" section_start=$SECONDS times=()
section() {
  end_section
  section_name="$*" section_start=$SECONDS
  printf '\n========== %s (%ds elapsed)\n' "$section_name" $((SECONDS - started))
}
end_section() {
  if [[ -n $section_name ]]; then
    times+=("$(printf '%5ds  %s' $((SECONDS - section_start)) "$section_name")")
    printf -- '---------- %ds: %s\n' $((SECONDS - section_start)) "$section_name"
  fi
}

section "installing missing tools (scripts/install-tools.sh)"
eval "$(scripts/install-tools.sh)"
export TRUNK_OFFLINE=true
export CHROMEDRIVER=/usr/bin/chromedriver CHROMIUM=/usr/bin/chromium
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/tests/webdriver.json" WASM_BINDGEN_TEST_TIMEOUT=300

# Formatting and lints first: they fail in seconds to minutes, before any long build.
section "cargo fmt --check and cargo clippy --workspace --all-targets -- -D warnings"
for component in rustfmt clippy; do
  rustup component list --installed | grep -q "^$component" || rustup component add "$component" >&2
done
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings

# The README's first command, as a newcomer runs it; its build (dist/) is what the end-to-end tests load.
section "the README's first command: scripts/serve.sh on a free port until it serves the app and the model"
scripts/serve-check.sh

# Native tests use the dev profile: dependencies are built at opt-level 3 there (Cargo.toml), and the
# release profile's LTO would re-link every test binary for minutes.
section "native tests: core, trainer, app logic (cargo test --workspace), end-to-end excluded"
cargo test --workspace -- --skip e2e_

# The wasm tests need optimised code (one runs the shipped model), not the release profile's
# whole-program LTO: the `fast` profile builds the three test binaries on one set of dependencies.
section "wasm tests in headless Chromium (wasm-bindgen-test): the app's offset logic"
cargo test --profile fast --target wasm32-unknown-unknown -p medlight --test offsets

section "wasm tests in headless Chromium (wasm-bindgen-test): the core"
cargo test --profile fast --target wasm32-unknown-unknown -p medlight-ner --test wasm
# Again with the relaxed-SIMD kernel of the app's other worker build (exact sums, same logits).
cargo test --profile fast --target wasm32-unknown-unknown -p medlight-ner --features relaxed-simd --test wasm

# Dev profile: reuses the native test build above (seconds) instead of an LTO release build (minutes).
# `--workspace`, as above: with `-p medlight` cargo would resolve the app's features alone (the core
# without the trainer's `training`) and build candle and tokenizers again.
section "end-to-end tests of dist/ in headless Chromium (tests/e2e/)"
# Three browsers at a time: each compiles the worker's wasm and loads the model.
cargo test --workspace --test e2e -- --test-threads=3

end_section
section_name=""
printf '\n========== all tests passed in %ds\n' $((SECONDS - started))
printf '%s\n' "${times[@]}"
