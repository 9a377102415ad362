"""vit_notes.glue: the values a chapter's prose quotes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vit_notes import glue
from vit_notes.prose import plain_value


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
