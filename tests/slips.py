"""What the bad-input tests share (tests/test_robust_api.py): :class:`Later` arguments, the
photo, and :func:`chapter_slips`, which gathers each chapter's slips from its own test file
(``API_SLIPS`` and ``API_NO_SLIP`` in tests/test_<chapter>.py), so that a new chapter lists
its slips there and tests/test_robust_api.py is not edited."""

from __future__ import annotations

import importlib
from pathlib import Path

from vit_notes import photo


class Later:
    """An argument built when its test runs, not at import (a model, the photo, a dataset)."""

    def __init__(self, make):
        self.make = make


img = Later(lambda: photo.load_photo(32))
np_img = Later(lambda: photo.load_photo(32).numpy())
img56 = Later(lambda: photo.load_photo(56))


def forward(attn, x, H, W):
    """A student's forward that calls the layer: the slip tests hand it to forward checkers."""
    return attn(x, H, W)


def chapter_more_slips(chapters) -> dict[str, list[tuple]]:
    """Every chapter's ``API_MORE_SLIPS`` (``'package.name' -> [(args, kwargs, argument, slip),
    ...]``): further slips of a function beyond its one in ``API_SLIPS``, each a student's (or
    a teacher's) mistake that once got an error from inside Python or torch, a wrong answer, or
    no error at all (issue 19's fuzz)."""
    more: dict[str, list[tuple]] = {}
    for chapter in chapters:
        if not Path(__file__).with_name(f"test_{chapter}.py").is_file():
            continue
        module = importlib.import_module(f"test_{chapter}")
        for name, cases in getattr(module, "API_MORE_SLIPS", {}).items():
            more.setdefault(name, []).extend(cases)
    return more


def chapter_slips(chapters) -> tuple[dict[str, tuple], dict[str, str]]:
    """Every chapter's ``API_SLIPS`` (``'package.name' -> (args, kwargs, argument)``) and
    ``API_NO_SLIP`` (``'package.name' -> why none``), from tests/test_<chapter>.py (pytest
    imports the same module when it collects it)."""
    slips, none = {}, {}
    for chapter in chapters:
        if not Path(__file__).with_name(f"test_{chapter}.py").is_file():
            continue
        module = importlib.import_module(f"test_{chapter}")
        slips.update(getattr(module, "API_SLIPS", {}))
        none.update(getattr(module, "API_NO_SLIP", {}))
    return slips, none
