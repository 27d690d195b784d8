#!/usr/bin/env bash
# Make sure Debian's headless Chromium is at /usr/bin/chromium for the browser tests (tests/web).
# Installs it with apt-get only when it is missing; never downloads a browser build of its own.
# Outside CI a failed install only warns (the browser tests then skip with the reason);
# with CI set it is an error.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
fail() {
  echo "browser.sh: $1" >&2
  if [ -n "${CI:-}" ]; then exit 1; fi
  echo "browser.sh: the browser tests in tests/web will be skipped" >&2
  exit 0
}
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    fail "/usr/bin/chromium is missing and installing it needs root (apt-get install -y chromium)"
  fi
fi
command -v apt-get >/dev/null 2>&1 || fail "/usr/bin/chromium is missing and there is no apt-get to install it"
echo "browser.sh: installing Debian's chromium (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || fail "apt-get update failed"
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null || fail "apt-get install chromium failed"
[ -x /usr/bin/chromium ] || fail "chromium installed but /usr/bin/chromium is missing"
