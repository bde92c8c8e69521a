#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail tests):
#   scripts/bench.sh native [-- args]    criterion on the core (ner/benches/pipeline.rs)
#   scripts/bench.sh browser [args...]   Medlight vs the transformers.js peer in headless Chromium
#                                        (bench/browser.mjs; args e.g. --limit 500)
#   scripts/bench.sh wasm-profile        the shipped model tagging a 30-word sentence in wasm under Node,
#                                        with V8's CPU profile summarised by self time (ner/tests/wasm_forward.rs)
#   scripts/bench.sh gpu [args...]       Medlight's trainer vs the Hugging Face Trainer on one CUDA GPU,
#                                        same base, data and settings (bench/gpu/; args below)
# The browser bench builds the app, installs the peer (npm, no install scripts: only its web
# files are used) and exports the shipped model to ONNX int8 for it (Python: onnx, onnxruntime).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-browser}
shift || true

case $what in
native)
  exec cargo bench -p medlight-ner --bench pipeline "$@"
  ;;
browser)
  eval "$(scripts/install-tools.sh)"
  export TRUNK_OFFLINE=true
  trunk build --release >&2
  [[ -d bench/node_modules/@huggingface/transformers ]] || npm ci --prefix bench --ignore-scripts --no-audit --no-fund >&2
  python3 -c 'import onnx, onnxruntime, gguf, tokenizers, numpy' 2>/dev/null \
    || python3 -m pip install --quiet onnx onnxruntime gguf tokenizers numpy >&2
  peer=bench/peer/model/medlight
  if [[ ! -f $peer/onnx/model_quantized.onnx || public/models/medlight-q8_0.safetensors -nt $peer/onnx/model_quantized.onnx ]]; then
    python3 bench/peer/export_onnx.py public/models/medlight-q8_0.safetensors public/models/tokenizer.json "$peer" >&2
  fi
  mkdir -p bench/results
  exec node bench/browser.mjs --json bench/results/browser.json "$@"
  ;;
wasm-profile)
  eval "$(scripts/install-tools.sh)"
  profiles=$(mktemp -d)
  # wasm-bindgen-test-runner starts `node` from PATH, and Node refuses --cpu-prof in NODE_OPTIONS.
  printf '#!/bin/sh\nexec %s --cpu-prof --cpu-prof-dir=%s --cpu-prof-interval 200 "$@"\n' "$(command -v node)" "$profiles" \
    > "$profiles/node"
  chmod +x "$profiles/node"
  # The test's wasm, as cargo names it in its build messages (not the newest file matching a glob).
  test_wasm=$(cargo test --release --target wasm32-unknown-unknown -p medlight-ner --test wasm_forward --no-run \
    --message-format=json-render-diagnostics | sed -n 's/.*"executable":"\([^"]*wasm_forward-[^"]*\.wasm\)".*/\1/p')
  [[ -f $test_wasm ]] || { echo "scripts/bench.sh wasm-profile: cargo named no wasm_forward test wasm" >&2; exit 1; }
  # As Trunk does for the app (-O3), so the profile is of the code that ships; -g keeps the names.
  # Without it the profile misleads: e.g. libm's fmaxf, called per element, took 7 % there, and
  # wasm-opt inlines it.
  wasm-opt -O3 -g --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue "$test_wasm" -o "$profiles/forward.wasm"
  PATH="$profiles:$PATH" wasm-bindgen-test-runner "$profiles/forward.wasm" --nocapture
  node bench/wasm-profile.mjs "$profiles"/*.cpuprofile 15
  rm -rf "$profiles"
  ;;
gpu)
  # --epochs N (6) --precisions f32,bf16 --systems ours,hf; env: MEDLIGHT_TRAINER (a trainer built with
  # --features cuda; default: build one), MEDLIGHT_BASE, MEDLIGHT_DATA, MEDLIGHT_BENCH_OUT.
  epochs=6 precisions=f32,bf16 systems=ours,hf
  while [[ $# -gt 0 ]]; do
    case $1 in
    --epochs) epochs=$2; shift 2 ;;
    --precisions) precisions=$2; shift 2 ;;
    --systems) systems=$2; shift 2 ;;
    *) echo "scripts/bench.sh gpu: unknown option $1" >&2; exit 2 ;;
    esac
  done
  trainer=${MEDLIGHT_TRAINER:-}
  if [[ -z $trainer ]]; then
    cargo build --release -p trainer --features cuda >&2
    trainer=target/release/trainer
  fi
  base=${MEDLIGHT_BASE:-models/base/all-MiniLM-L6-v2}
  data=${MEDLIGHT_DATA:-../shared/data/bc5cdr}
  out=${MEDLIGHT_BENCH_OUT:-bench/results/gpu}
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2
  # The same settings for both, spelled out: the trainer's defaults when the GPU figures in
  # docs/gpu.md were taken (lr 1e-4; the trainer's default is 2e-4 since), kept so those
  # figures reproduce.
  common=(--epochs "$epochs" --batch-size 16 --lr 1e-4 --warmup 0.1 --weight-decay 0.01 --clip 1.0 --seed 42)
  for precision in ${precisions//,/ }; do
    for system in ${systems//,/ }; do
      run=$out/$system-$precision
      rm -rf "$run" && mkdir -p "$run"
      start=$(date +%s.%N)
      if [[ $system == ours ]]; then
        "$trainer" train --device cuda --data "$data" --base "$base" --out "$run" --precision "$precision" \
          "${common[@]}" 2>&1 | tee "$run/log.txt" || echo "$run failed" >&2
      else
        python3 bench/gpu/hf_reference.py --data "$data" --base "$base" --out "$run" --precision "$precision" \
          "${common[@]}" 2>&1 | tee "$run/log.txt" || echo "$run failed" >&2
      fi
      python3 -c "print($(date +%s.%N) - $start)" > "$run/wall.txt"
    done
  done
  exec python3 bench/gpu/report.py "$out"
  ;;
*)
  echo "usage: scripts/bench.sh native | wasm-profile | browser [--limit N] [--systems ours,peer] | gpu [--epochs N] [--precisions f32,bf16] [--systems ours,hf]" >&2
  exit 2
  ;;
esac
