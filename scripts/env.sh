#!/usr/bin/env bash
# Sourced by scripts/book and scripts/test: makes (or reuses) the project's
# virtual environment in .venv and activates it.  A second run reinstalls
# nothing unless requirements*.txt, constraints.txt or pyproject.toml changed.
# It leaves the shell's options alone: its callers set -euo pipefail themselves.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VIT_NOTES_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

stamp_of() {
  cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" "$ROOT/constraints.txt" \
      "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1
}

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "error: $PY is $("$PY" --version 2>&1); ViT Notes needs Python 3.10 or newer" >&2
  return 1 2>/dev/null || exit 1
fi

want="$(stamp_of)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.vit-notes-stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> setting up $VENV (first run, or the requirements changed)"
  # In a subshell, every step ending in `|| exit 1`: bash ignores `set -e` inside a command
  # that an `if` tests, so a failed step (a full disk, say) would otherwise run on.
  if ! (
    set -uo pipefail
    [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV" || exit 1
    # (grep drops this machine's noise about missing local mirror folders)
    # --no-cache-dir: the set-up needs about 6 GB in the venv; a second copy of every
    # wheel in pip's cache can fill a small CI disk.
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-cache-dir \
        -r "$ROOT/requirements-dev.txt" -c "$ROOT/constraints.txt" 2>&1 \
        | { grep -v "is ignored: it is neither a file nor a directory" || true; } || exit 1
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e "$ROOT" \
      || "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$ROOT" \
      || exit 1
    "$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null || exit 1
    echo "$want" > "$VENV/.vit-notes-stamp" || exit 1
  ); then
    echo "error: setting up $VENV failed (see above); free disk where it lives:" >&2
    df -h "$(dirname "$VENV")" >&2 || true
    return 1 2>/dev/null || exit 1
  fi
fi
export PATH="$VENV/bin:$PATH"
export VIRTUAL_ENV="$VENV"
# Determinism and a quiet, reproducible environment for tests and the build.
export PYTHONHASHSEED=0
export PYDEVD_DISABLE_FILE_VALIDATION=1
