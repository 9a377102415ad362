"""What the browser tests that need no built site share: one headless Chromium per module."""

from __future__ import annotations

import os

import pytest
from frontends import CHROMIUM, CHROMIUM_ARGS

REQUIRED = os.environ.get("VIT_NOTES_BROWSER_TEST") == "1"


@pytest.fixture(scope="module")
def chromium():
    if not os.access(CHROMIUM, os.X_OK):
        msg = f"{CHROMIUM} is missing: run bash scripts/browser-deps.sh"
        pytest.fail(msg) if REQUIRED else pytest.skip(msg)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        msg = "the playwright package is missing: run bash scripts/browser-deps.sh"
        pytest.fail(msg) if REQUIRED else pytest.skip(msg)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
