#!/usr/bin/env bash
# Builds the app with the shipped model (public/models/) and serves it at http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/install-tools.sh)"
export TRUNK_OFFLINE=true
exec trunk serve --release "$@"
