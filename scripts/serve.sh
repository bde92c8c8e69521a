#!/usr/bin/env bash
# Builds the app with the shipped model (public/models/) and serves it at http://127.0.0.1:8080
# (extra arguments go to `trunk serve`, e.g. --port 9000). Trunk watches only the app's sources
# (Trunk.toml [watch]), so a cold build's writes under target/ cannot reach its file watcher.
# No auto-reload: its injected inline script would break the page's own Content-Security-Policy.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/install-tools.sh)"
export TRUNK_OFFLINE=true
exec trunk serve --release --no-autoreload "$@"
