#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail tests):
#   scripts/bench.sh native [-- args]    criterion on the core (ner/benches/pipeline.rs)
#   scripts/bench.sh browser [args...]   Medlight vs the transformers.js peer in headless Chromium
#                                        (bench/browser.mjs; args e.g. --limit 500)
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
  if [[ ! -f $peer/onnx/model_quantized.onnx || public/models/medlight-q8_0.gguf -nt $peer/onnx/model_quantized.onnx ]]; then
    python3 bench/peer/export_onnx.py public/models/medlight-q8_0.gguf public/models/tokenizer.json "$peer" >&2
  fi
  mkdir -p bench/results
  exec node bench/browser.mjs --json bench/results/browser.json "$@"
  ;;
*)
  echo "usage: scripts/bench.sh native | browser [--limit N] [--systems ours,peer]" >&2
  exit 2
  ;;
esac
