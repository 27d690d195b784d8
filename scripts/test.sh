#!/usr/bin/env bash
# Install with the test tools, then run the whole suite (SQLite and PostgreSQL).
# Extra arguments go to pytest (e.g. -k sweep).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
scripts/browser.sh   # Debian's chromium for the browser tests (only when missing)
exec .venv/bin/python -m pytest -q "$@"
