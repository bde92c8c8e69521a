#!/usr/bin/env bash
# Runs the README's first command, scripts/serve.sh, on a free port, waits until it serves the page,
# the shipped model byte for byte and a filled-in service worker (the build finished), then stops
# it. dist/ is removed first, so what it serves comes from this build. Fails with serve.sh's log if
# it exits, or has served nothing after MEDLIGHT_SERVE_TIMEOUT seconds (default 3600).
set -euo pipefail
cd "$(dirname "$0")/.."
model=models/medlight-q8_0.safetensors
timeout=${MEDLIGHT_SERVE_TIMEOUT:-3600}

free_port() {
  local port
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 20000))
    # Nothing answers a connection to a free port.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  echo "serve-check: no free port found" >&2
  return 1
}

port=$(free_port)
log=$(mktemp)
rm -rf dist
echo "serve-check: scripts/serve.sh --port $port (log: $log)"
setsid scripts/serve.sh --port "$port" >"$log" 2>&1 &
pid=$!
stop() { kill -- -"$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap stop EXIT

url="http://127.0.0.1:$port"
served() {
  curl -sf "$url/index.html" | grep -q 'Content-Security-Policy' \
    && curl -sf "$url/$model" | cmp -s - "public/$model" \
    && ! curl -sf "$url/sw.js" | grep -q '@MEDLIGHT_FILES@' \
    && curl -sf -o /dev/null "$url/sw.js"
}
for ((waited = 0; ; waited += 5)); do
  if served; then
    echo "serve-check: $url serves index.html, $model and sw.js after ${waited}s"
    break
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$log" >&2
    echo "serve-check: scripts/serve.sh exited before serving the app" >&2
    exit 1
  fi
  if ((waited >= timeout)); then
    tail -50 "$log" >&2
    echo "serve-check: nothing served after ${timeout}s" >&2
    exit 1
  fi
  sleep 5
done
stop
trap - EXIT
# A panic of the file watcher (or anything else) fails the check even if the page was served.
if grep -q 'panicked' "$log"; then
  cat "$log" >&2
  echo "serve-check: serve.sh panicked" >&2
  exit 1
fi
tail -5 "$log"
