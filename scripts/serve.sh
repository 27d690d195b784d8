#!/usr/bin/env bash
# Install, then start the service on the embedded SQLite store with demo data.
# Extra arguments go to `inburgering serve` (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/inburgering serve "$@"
