"""The comparison chapter's checkers, and every chapter's checkers against any answer."""

import math

import numpy as np
import pytest
import torch

from vit_notes import coatnet, compare, pvt, shunted


@pytest.mark.parametrize(
    "answer,ok,says",
    [
        (27.3, True, "N·M grows 5.22² = 27.3×"),
        ("27", True, "does not remove it"),
        (5.22, False, "5.22× is the growth of the tokens N"),
        (2.29, False, "2.29× is the growth of the image's side"),
        (12.6, False, "12.6× is the whole layer's growth"),
        (None, False, "as a number, got None"),
    ],
)
def test_growth_prediction(capsys, answer, ok, says):
    assert compare.check_growth(answer) is ok
    out = " ".join(capsys.readouterr().out.split())
    assert says in out and ("Section 2 prints it" in out or answer is None)


@pytest.mark.parametrize(
    "answer,ok,says",
    [
        ("PVT SRA, R=8", True, "1,024 keys in all, maps 512 MB: the finest keys that fit"),
        ("pvt sra, r=8", True, "linear SRA's 49 keys fit any size"),
        ("linear", False, "it fits, but PVT SRA, R=8 fits too with 20.9× the keys"),
        ("Shunted", False, "maps 1,280 MB, 1.25× the 1,024 MB budget"),
        ("full attention", False, "32× the 1,024 MB budget"),
        ("sra", False, "choose one of 'full attention', 'PVT SRA, R=8'"),
    ],
)
def test_layer_judgement(capsys, answer, ok, says):
    assert compare.check_layer_choice(answer) is ok
    assert says in " ".join(capsys.readouterr().out.split())


CHECKERS = [
    pvt.check_kv_tokens,
    pvt.check_sra_macs,
    pvt.check_explorer_prediction,
    pvt.check_sr_choice,
    coatnet.check_rel_table_size,
    coatnet.check_attention_macs,
    coatnet.check_layout_prediction,
    coatnet.check_layout_choice,
    shunted.check_shunted_kv_tokens,
    shunted.check_shunted_macs,
    shunted.check_explorer_prediction,
    shunted.check_ratio_choice,
    compare.check_growth,
    compare.check_layer_choice,
]
ANSWERS = [
    None,
    "",
    "forty-nine",
    math.nan,
    math.inf,
    -math.inf,
    10**400,
    -(10**400),
    1e308,
    torch.ones(3),
    torch.tensor(math.nan),
    np.int64(7),
    np.array([1.0, 2.0]),
    [49],
    (1, 2, 3),
    {"a": 1},
    True,
    object(),
]


@pytest.mark.parametrize("checker", CHECKERS, ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_checker_answers_anything_with_one_message(capsys, monkeypatch, checker):
    from vit_notes import checking

    monkeypatch.setattr(checking, "LINE_WIDTH", 80)  # as on the page
    for answer in ANSWERS:
        assert checker(answer) in (True, False)
        out = capsys.readouterr().out
        assert out.startswith(("❌ not yet: ", "✅ correct: ")), (answer, out)
        assert all(len(line) <= 80 for line in out.splitlines()), out
