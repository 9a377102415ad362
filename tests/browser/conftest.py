"""What the browser tests that need no built site share: one headless Chromium per module."""

from __future__ import annotations

import os

import frontends
import pytest

REQUIRED = os.environ.get("VIT_NOTES_BROWSER_TEST") == "1"


@pytest.fixture(scope="module")
def chromium():
    with frontends.chromium(REQUIRED) as b:
        yield b
