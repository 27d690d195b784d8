#!/usr/bin/env bash
# A DEMO: install, then start the service on the embedded SQLite store with demo data, the
# development sign-in (anyone can pick any role) and a random signing key kept in the store.
# Not for real dossiers: see README "Running in production". Extra arguments go to
# `inburgering serve` (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/inburgering serve --demo "$@"
