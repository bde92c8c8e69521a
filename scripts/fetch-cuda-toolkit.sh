#!/usr/bin/env bash
# Puts a CUDA 13 compiler (nvcc, cicc, ptxas) and headers into ~/.cache/medlight/cuda13 from PyPI's
# NVIDIA wheels, for building the trainer with `--features cuda` on a machine without a CUDA toolkit
# (the build compiles candle's kernels to PTX; running them needs an NVIDIA GPU and its driver).
# Prints the environment to use: eval "$(scripts/fetch-cuda-toolkit.sh)"
set -euo pipefail
root="${MEDLIGHT_CUDA_DIR:-$HOME/.cache/medlight/cuda13}"
if [ ! -x "$root/nvidia/cu13/bin/nvcc" ] || [ ! -x "$root/nvidia/cu13/nvvm/bin/cicc" ] || [ ! -f "$root/nvidia/cu13/include/crt/host_config.h" ]; then
  wheels=$(mktemp -d)
  python3 -m pip download --quiet --no-deps -d "$wheels" \
    nvidia-cuda-nvcc nvidia-nvvm nvidia-cuda-crt nvidia-cuda-runtime nvidia-cuda-cccl >&2
  mkdir -p "$root"
  for wheel in "$wheels"/*.whl; do python3 -m zipfile -e "$wheel" "$root" >&2; done
  chmod +x "$root"/nvidia/cu13/bin/* "$root"/nvidia/cu13/nvvm/bin/* 2>/dev/null || true
  rm -rf "$wheels"
fi
cuda="$root/nvidia/cu13"
echo "export CUDA_ROOT=$cuda CUDA_PATH=$cuda CUDA_HOME=$cuda"
echo "export PATH=$cuda/bin:\$PATH"
# cudarc's bindings stop at 13.4; those of 13.0 work with any CUDA 13 driver.
echo "export CUDARC_CUDA_VERSION=\${CUDARC_CUDA_VERSION:-13000}"
# The GPU decides the kernels' target; without one here, say which (90: H100).
echo "export CUDA_COMPUTE_CAP=\${CUDA_COMPUTE_CAP:-90}"
