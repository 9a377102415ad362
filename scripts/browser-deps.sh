#!/usr/bin/env bash
# What the browser test (tests/browser) needs beyond .venv: Debian's chromium, the fonts a
# reader has (CJK for the glossary's Chinese terms, colour emoji for the checkers' marks),
# and the playwright pip package (in requirements-dev.txt; it ships its own driver, so no
# browser download). Installs only what is missing; apt-get needs root (as in CI).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || missing+=(fonts-noto-color-emoji)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> installing Debian's ${missing[*]} (for the browser test)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing ${missing[*]}; run as root, or: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
"$CHROMIUM" --version

# The project's environment: the active one (scripts/env.sh exports VIRTUAL_ENV), else .venv.
PY="${VIRTUAL_ENV:-$ROOT/.venv}/bin/python"
if [ ! -x "$PY" ]; then
  echo "error: no virtual environment at $PY; run: source scripts/env.sh" >&2
  exit 1
fi
if ! "$PY" -c "import playwright.sync_api, pyee" 2>/dev/null; then
  echo "==> installing playwright (pip package only)"
  "$PY" -m pip install -q --disable-pip-version-check "playwright" "pyee" -c "$ROOT/constraints.txt"
fi
