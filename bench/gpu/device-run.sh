#!/usr/bin/env bash
# On a CUDA 13 machine with PyTorch and transformers but no Rust or internet, from the repository root
# with .gpu/ filled by bench/gpu/pack.sh: scripts/bench.sh gpu in f32 (Medlight's trainer vs the Hugging
# Face Trainer), the baseline trainer if one was packed, the trainer's default recipe, then bf16, each
# phase only if it can end before ~540 s.
# Results: /tmp/gpu, packed (without weights) into $OUT/results.tgz when OUT is set.
set -uo pipefail
OUT=${OUT:-/tmp}
t0=$(date +%s)
elapsed() { echo $(( $(date +%s) - t0 )); }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
nproc
# CUDA 13 libraries from PyTorch's wheels; the driver's libcuda is on the default path.
libdirs=$(python3 - <<'PY'
import pathlib, site, sys
found = set()
for root in site.getsitepackages() + ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"]:
    p = pathlib.Path(root)
    if not p.exists():
        continue
    for name in ["libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10", "libnvrtc.so.13"]:
        for hit in p.rglob(name):
            found.add(str(hit.parent))
print(":".join(sorted(found)))
PY
)
echo "libdirs: $libdirs"
export LD_LIBRARY_PATH="$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
tar xJf .gpu/trainers.tar.xz -C .gpu && ls -la .gpu
ldd .gpu/trainer | grep -E "not found|cublas|curand|nvrtc|libcuda"
tar xJf .gpu/data.tar.xz -C .gpu && ls -la .gpu/bc5cdr .gpu/ncbi-disease
# The base travelled in f16 (64 MiB limit); both trainers read the same f32 copy of it.
mkdir -p /tmp/base && cp .gpu/base/config.json .gpu/base/tokenizer.json /tmp/base/
xz -dc .gpu/base/model-f16.safetensors.xz > /tmp/model-f16.safetensors
python3 - <<'PY'
import numpy as np
from safetensors.numpy import load_file, save_file
t = load_file("/tmp/model-f16.safetensors")
save_file({k: (v.astype(np.float32) if v.dtype == np.float16 else v) for k, v in t.items()}, "/tmp/base/model.safetensors")
PY
export MEDLIGHT_TRAINER=.gpu/trainer MEDLIGHT_BASE=/tmp/base MEDLIGHT_DATA=.gpu/bc5cdr MEDLIGHT_BENCH_OUT=/tmp/gpu
mkdir -p /tmp/gpu
pack() {
  (cd /tmp/gpu && tar czf "$OUT/results.tgz" --exclude='*.safetensors' --exclude='*.gguf' --exclude=checkpoint --exclude='*.svg' .)
}
[ -n "${DRY:-}" ] && exit 0
# GPU utilisation every 250 ms for the whole run (phase start times are printed below).
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader -lms 250 > /tmp/gpu/utilisation.csv 2>&1 &
echo "run started $(date '+%H:%M:%S')"
# Runs "$@" as phase $1 if the estimate $2 (seconds) still fits before 540 s.
phase() {
  local name=$1 need=$2; shift 2
  if [ $(( $(elapsed) + need )) -gt 540 ]; then echo "skip $name at $(elapsed) s (needs ~$need s)"; return; fi
  echo "=== $name at $(elapsed) s ($(date '+%H:%M:%S'))"
  "$@"
  pack
}
phase "f32: ours, then HF" 200 scripts/bench.sh gpu --epochs 6 --precisions f32 --systems ours,hf
if [ -x .gpu/trainer-baseline ]; then
  phase "f32: the baseline trainer" 100 env MEDLIGHT_TRAINER=.gpu/trainer-baseline MEDLIGHT_BENCH_OUT=/tmp/gpu/baseline \
    scripts/bench.sh gpu --epochs 6 --precisions f32 --systems ours
fi
# One run of the shipped recipe (the trainer's defaults but one seed; the default trains three and averages
# them): F1 against the CPU run, and the time to it.
default_run() {
  .gpu/trainer train --device cuda --seeds 42 --data .gpu/bc5cdr --base /tmp/base --out /tmp/gpu/default 2>&1 | grep -E "^epoch|devel F1|rror|warning"
}
phase "default recipe (12 epochs)" 150 default_run
phase "bf16: ours" 80 scripts/bench.sh gpu --epochs 6 --precisions bf16 --systems ours
echo "done at $(elapsed) s"
