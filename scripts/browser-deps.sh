#!/usr/bin/env bash
# What the browser test (tests/browser) needs beyond .venv: Debian's chromium, and the
# playwright pip package (in requirements-dev.txt; it ships its own driver, so no
# browser download). Installs only what is missing; apt-get needs root (as in CI).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM" ]; then
  echo "==> installing Debian's chromium (for the browser test)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: $CHROMIUM is missing; run as root, or: sudo apt-get install -y chromium" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
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
