import matplotlib

matplotlib.use("Agg")  # no display in tests; notebooks use the inline backend

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(autouse=True)
def _unwrapped_checker_messages(monkeypatch):
    # Checkers wrap their messages at 80 columns for the page; the tests match phrases
    # that a wrap could split, so they read them on one line (test_checking tests the wrap).
    from vit_notes import checking

    monkeypatch.setattr(checking, "LINE_WIDTH", 10_000)
