#!/usr/bin/env bash
# Puts a CUDA 13 compiler (nvcc, cicc, ptxas), headers and the libraries the trainer links against
# (cuBLAS, cuBLASLt, cuRAND, NVRTC, and a stub of the driver's libcuda) into
# ~/.cache/medlight/cuda13 from PyPI's NVIDIA wheels, for building the trainer with
# `--features cuda` on a machine without a CUDA toolkit or GPU. The binary then runs on any machine
# with a CUDA 13 driver and those libraries (PyTorch's cu13 wheels carry them).
# Prints the environment to use: eval "$(scripts/fetch-cuda-toolkit.sh)"
set -euo pipefail
root="${MEDLIGHT_CUDA_DIR:-$HOME/.cache/medlight/cuda13}"
cuda="$root/nvidia/cu13"
# The compiler is CUDA 13.0's: candle's kernels ship as PTX, and a driver refuses PTX from a newer
# toolkit than its own (CUDA_ERROR_UNSUPPORTED_PTX_VERSION: nvcc 13.5's PTX 9.5 on a 13.0 driver).
# PTX 9.0 loads on every CUDA 13 driver.
if ! "$cuda/bin/nvcc" --version 2>/dev/null | grep -q 'release 13\.0' || [ ! -x "$cuda/nvvm/bin/cicc" ] \
  || [ ! -f "$cuda/include/crt/host_config.h" ] || [ ! -e "$cuda/lib/libcublas.so.13" ] \
  || [ ! -e "$cuda/lib/libnvrtc.so.13" ] || [ ! -e "$cuda/lib/libcurand.so.10" ]; then
  rm -rf "$root"
  wheels=$(mktemp -d)
  python3 -m pip download --quiet --no-deps -d "$wheels" \
    'nvidia-cuda-nvcc==13.0.*' 'nvidia-nvvm==13.0.*' 'nvidia-cuda-crt==13.0.*' 'nvidia-cuda-runtime==13.0.*' \
    'nvidia-cuda-cccl==13.0.*' 'nvidia-cuda-nvrtc==13.0.*' nvidia-cublas nvidia-curand >&2
  mkdir -p "$root"
  for wheel in "$wheels"/*.whl; do python3 -m zipfile -e "$wheel" "$root" >&2; done
  chmod +x "$cuda"/bin/* "$cuda"/nvvm/bin/* 2>/dev/null || true
  rm -rf "$wheels"
fi
# The linker wants unversioned names (-lcublas finds libcublas.so).
for lib in cublas.so.13 cublasLt.so.13 curand.so.10 nvrtc.so.13 cudart.so.13; do
  ln -sf "lib$lib" "$cuda/lib/lib${lib%%.so.*}.so"
done
# libcuda belongs to the driver, which no wheel ships: link against a stub that defines every driver
# entry point cudarc declares and names itself libcuda.so.1, so the real driver library is the one
# loaded at run time.
if [ ! -f "$cuda/lib/stubs/libcuda.so" ]; then
  bindings=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -path '*/cudarc-0.19.*/src/driver/sys/mod.rs' | sort | tail -1)
  if [ -z "$bindings" ]; then
    echo "cudarc 0.19's sources are not in the cargo registry yet: run 'cargo fetch' first" >&2
    exit 1
  fi
  mkdir -p "$cuda/lib/stubs"
  grep -o '^pub unsafe fn cu[A-Za-z0-9_]*' "$bindings" | sed 's/^pub unsafe fn \(.*\)/void \1(void) {}/' | sort -u \
    > "$cuda/lib/stubs/libcuda-stub.c"
  cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$cuda/lib/stubs/libcuda.so" "$cuda/lib/stubs/libcuda-stub.c"
fi
echo "export CUDA_ROOT=$cuda CUDA_PATH=$cuda CUDA_HOME=$cuda"
echo "export PATH=$cuda/bin:\$PATH"
# cudarc's bindings stop at 13.4; those of 13.0 work with any CUDA 13 driver.
echo "export CUDARC_CUDA_VERSION=\${CUDARC_CUDA_VERSION:-13000}"
# The GPU decides the kernels' target; without one here, say which (90: H100 and H200).
echo "export CUDA_COMPUTE_CAP=\${CUDA_COMPUTE_CAP:-90}"
