#!/usr/bin/env bash
# Sets up what is missing, builds the wasm package and serves the playground with Vite.
# Env: PORT (default 5173), HOST (default localhost).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-wasm.sh
port="${PORT:-5173}"
host="${HOST:-localhost}"
echo "brasa playground: http://$host:$port/" >&2
exec npx --no-install vite --host "$host" --port "$port" --strictPort
