"""The last book build: no chapter timed or trained while it ran (book/_ext/build_guard.py).

Every kernel of the build logged each timing or training call to _build/build-guard/; a
chapter outside ``build_guard.PENDING`` would have failed the build at its first call, and
one inside it must still have made one (strict, like an xfail: a chapter whose timing cells
have moved to ``vit_notes.measured`` leaves ``PENDING``). scripts/test builds the book beside
busy processes (the machine loaded), then runs this.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import build_guard  # noqa: E402

SITE = Path(os.environ.get("VIT_NOTES_SITE", ROOT / "_build" / "html"))
LOG = SITE.parent / "build-guard"
REQUIRED = os.environ.get("VIT_NOTES_BROWSER_TEST") == "1"


def test_no_chapter_timed_or_trained_while_the_book_built():
    if not (SITE / "index.html").is_file():
        msg = f"no built site at {SITE}: run bash scripts/book first"
        pytest.fail(msg) if REQUIRED else pytest.skip(msg)
    log = build_guard.read_log(LOG) if LOG.is_dir() else {}
    unexpected = {c: calls for c, calls in log.items() if c not in build_guard.PENDING}
    assert not unexpected, f"chapters that timed or trained during the build: {unexpected}"
    executed = build_guard.guarded_chapters(LOG) if LOG.is_dir() else set()
    if not executed:
        pytest.fail("the last build started no kernel under the guard (execute_notebooks: off?)")
    done = sorted(c for c in build_guard.PENDING & executed if not log.get(c))
    assert not done, (
        f"{done} no longer time or train while the book builds: remove them from "
        "PENDING in book/_ext/build_guard.py"
    )
