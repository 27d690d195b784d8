#!/usr/bin/env bash
# The system libraries the letters need (letters/render.py): WeasyPrint renders with Pango (and
# HarfBuzz's subsetter for the fonts it embeds); DejaVu is the letters' font; pdftoppm (poppler-utils)
# turns a letter into the PNG the browser tests save. Installs with apt-get only what is missing.
# Outside CI a failed install only warns (rendering letters then fails with the missing library);
# with CI set it is an error.
set -euo pipefail
missing=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib 'libpango-1.0.so.0' || missing+=(libpango-1.0-0)
have_lib 'libpangoft2-1.0.so.0' || missing+=(libpangoft2-1.0-0)
have_lib 'libharfbuzz-subset.so.0' || missing+=(libharfbuzz-subset0)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
fail() {
  echo "pdf.sh: $1" >&2
  if [ -n "${CI:-}" ]; then exit 1; fi
  echo "pdf.sh: letters cannot be rendered until ${missing[*]} are installed" >&2
  exit 0
}
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    fail "missing ${missing[*]} and installing needs root (apt-get install -y ${missing[*]})"
  fi
fi
command -v apt-get >/dev/null 2>&1 || fail "missing ${missing[*]} and there is no apt-get to install them"
echo "pdf.sh: installing ${missing[*]} (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || fail "apt-get update failed"
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]} failed"
