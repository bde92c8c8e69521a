#!/usr/bin/env bash
# Fills .gpu/ (git-ignored) for a GPU machine without a Rust toolchain or internet access: the trainer
# built here with --features cuda (CUDA 13.0 PTX, see scripts/fetch-cuda-toolkit.sh), the base encoder
# in f16 (it must travel under 64 MiB; the far side restores f32), BC5CDR and NCBI-disease (for
# --extra-data). MEDLIGHT_BASELINE_TRAINER names a second CUDA trainer (an earlier commit's build) to
# carry along for an A/B on the same GPU. There, run
#   bash bench/gpu/device-run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
data=$(realpath "${MEDLIGHT_DATA:-../shared/data/bc5cdr}")
base=${MEDLIGHT_BASE:-models/base/all-MiniLM-L6-v2}
eval "$(scripts/fetch-cuda-toolkit.sh)"
cargo build --release -p trainer --features cuda
rm -rf .gpu && mkdir -p .gpu/base
# Both binaries in one solid xz stream: they share candle's kernels, so the second costs ~0.7 MB
# instead of 3.5 (the whole carry must stay under 64 MiB with the repository).
mkdir -p .gpu/bin && cp target/release/trainer .gpu/bin/trainer
[[ -n ${MEDLIGHT_BASELINE_TRAINER:-} ]] && cp "$MEDLIGHT_BASELINE_TRAINER" .gpu/bin/trainer-baseline
tar cf - -C .gpu/bin . | xz -9e -T1 --lzma2=preset=9e,dict=64MiB > .gpu/trainers.tar.xz
rm -r .gpu/bin
cp "$base/config.json" "$base/tokenizer.json" .gpu/base/
python3 - "$base/model.safetensors" .gpu/base/model-f16.safetensors <<'PY'
import sys
import numpy as np
from safetensors.numpy import load_file, save_file
tensors = load_file(sys.argv[1])
save_file({k: (v.astype(np.float16) if v.dtype == np.float32 else v) for k, v in tensors.items()}, sys.argv[2])
PY
xz -T0 -6 .gpu/base/model-f16.safetensors
ncbi=$(realpath "${MEDLIGHT_NCBI:-$(dirname "$data")/ncbi-disease}")
tar cJf .gpu/data.tar.xz -C "$(dirname "$data")" "$(basename "$data")" -C "$(dirname "$ncbi")" "$(basename "$ncbi")"
du -sh .gpu
