#!/usr/bin/env bash
# Create .venv (Python 3.11 or 3.12: durable-rules does not build on 3.13) and install the project.
# Usage: scripts/setup.sh [EXTRAS]   e.g. scripts/setup.sh dev
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
pick_python() {
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else 1)'; then
      echo "$candidate"; return 0
    fi
  done
  echo "error: need Python 3.11 or 3.12 (durable-rules 2.0.28 does not build on 3.13)" >&2
  return 1
}
if [ ! -x .venv/bin/python ]; then
  "$(pick_python)" -m venv .venv
fi
scripts/pdf.sh       # Pango, fonts and pdftoppm for the letters (only when missing)
.venv/bin/python -m pip install --quiet --upgrade "pip==26.3"
if [ -n "$extras" ]; then
  .venv/bin/python -m pip install --quiet -e ".[$extras]"
else
  .venv/bin/python -m pip install --quiet -e .
fi
