"""scripts/env.sh stops at the first failed set-up step.

A CI run once filled its disk while pip installed the requirements; the set-up ran on,
wrote its stamp, and the run failed later with `ruff: command not found`. Bash ignores
`set -e` inside a command that an `if` tests, so each step must stop the set-up itself.
"""

import os
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_failed_install_stops_the_set_up(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    fake = venv / "bin" / "python"
    fake.write_text('#!/bin/sh\necho "[Errno 28] No space left on device" >&2\nexit 3\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    script = f'set -euo pipefail; source "{ROOT}/scripts/env.sh"; echo CONTINUED'
    env = dict(os.environ, VIT_NOTES_VENV=str(venv))
    run = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode != 0
    assert "CONTINUED" not in run.stdout
    assert "setting up" in run.stderr and "failed" in run.stderr
    # The stamp marks a finished set-up: a failed one must not write it.
    assert not (venv / ".vit-notes-stamp").exists()
