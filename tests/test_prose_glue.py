"""vit_notes.glue: the values a chapter's prose quotes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vit_notes import glue
from vit_notes.prose import plain_value, round_up


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (torch.tensor(0.5), 0.5),
        (torch.tensor([3]), 3),
        (np.int64(3136), 3136),
        (np.float32(0.25), 0.25),
        (7, 7),
        ("7×7", "7×7"),
    ],
)
def test_values_become_plain_python(value, expected):
    got = plain_value(value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (torch.zeros(2), ValueError, "one number"),
        (float("nan"), ValueError, "finite"),
        (True, TypeError, "bool"),
        ([1, 2], TypeError, "list"),
    ],
)
def test_what_cannot_be_glued_is_refused(value, error, message):
    with pytest.raises(error, match=message):
        plain_value(value)


@pytest.mark.parametrize("name", ["", "2x", "a b", "a:b", None])
def test_a_glue_name_is_a_plain_key(name):
    with pytest.raises(ValueError, match="glue name"):
        glue(name, 1)


@pytest.mark.parametrize(
    "value, places, shown",
    [
        (2.1410534780860475, 1, "2.2"),  # rounding to nearest would print 2.1
        (0.01918098285714287, 3, "2.0%"),  # as .1%
        (0.02, 3, "2.0%"),  # a value on the grid stays itself
        (0.0346, 3, "3.5%"),
        (torch.tensor(0.4623), 2, "47%"),
        (-0.0348, 3, "-3.4%"),
        (5, 0, "5"),
    ],
)
def test_round_up_gives_a_bound_that_prints_as_one(value, places, shown):
    bound = round_up(value, places)
    fmt = f".{places - 2}%" if shown.endswith("%") else f".{places}f"
    assert format(bound, fmt) == shown
    assert bound >= float(plain_value(value))
    assert bound - float(plain_value(value)) < 10**-places


@pytest.mark.parametrize(
    "value, places, error, message",
    [
        ("2.1", 1, TypeError, "string"),
        (2.1, -1, ValueError, "places"),
        (2.1, 1.5, ValueError, "places"),
        (float("nan"), 1, ValueError, "finite"),
    ],
)
def test_round_up_refuses_bad_input(value, places, error, message):
    with pytest.raises(error, match=message):
        round_up(value, places)


@pytest.mark.parametrize(
    "text", ["(0.35, 0.50)", "(0.35, 0.55)", "one neighbour", "5/2 = 2.5", "0.50", "7×7"]
)
def test_a_glued_string_renders_as_built(monkeypatch, text):
    # the glue role reads the stored text as a Python literal: without its quotes,
    # "(0.35, 0.50)" became the tuple (0.35, 0.5) on the page
    ext = pytest.importorskip("myst_nb.ext.glue")
    from myst_nb.core.variables import format_plain_text

    stored = []
    monkeypatch.setattr(ext, "ipy_display", lambda bundle, **kw: stored.append(bundle))
    glue("key", text)
    ((plain,),) = ([v for k, v in b.items() if k.endswith("text/plain")] for b in stored)
    assert format_plain_text(plain, "") == text
